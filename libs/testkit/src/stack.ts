import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The services of the pipeline, in the order they start. */
export const SERVICES = ['llm-pool', 'projections', 'router', 'orchestrator', 'gateway'] as const;
/** A service name. */
export type ServiceName = (typeof SERVICES)[number];

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** One running service process. */
export interface ServiceProcess {
  name: ServiceName;
  child: ChildProcess;
  /** Its log lines (pino JSON) so far, parsed where they parse. */
  lines: Record<string, unknown>[];
  /** Resolves when the process has exited. */
  exited: Promise<number | null>;
}

/** Options for {@link startStack}. */
export interface StackOptions {
  /** The environment every service gets (config variables). */
  env: Record<string, string>;
  /** Which services to start. @default all of {@link SERVICES} */
  services?: readonly ServiceName[];
  /** Called with each output line, e.g. to print it with a prefix. */
  onLine?: (service: ServiceName, line: string) => void;
}

/** The pipeline as real OS processes, one per service, as docker-compose runs them. */
export interface Stack {
  processes: Map<ServiceName, ServiceProcess>;
  /** Starts (or restarts) one service. */
  start(name: ServiceName): ServiceProcess;
  /** Sends a signal (SIGKILL for a crash, SIGTERM for a graceful stop) and waits for the exit. */
  kill(name: ServiceName, signal?: NodeJS.Signals): Promise<void>;
  /** Waits until a service logs a line for which `match` is true. */
  waitForLog(
    name: ServiceName,
    match: (line: Record<string, unknown>) => boolean,
    timeoutMs?: number,
  ): Promise<void>;
  /** Stops every service gracefully (SIGTERM), then kills what is left after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

/** Starts the services as child processes of this one: `node services/<name>/src/main.ts`. */
export function startStack({ env, services = SERVICES, onLine }: StackOptions): Stack {
  const processes = new Map<ServiceName, ServiceProcess>();
  const waiters = new Set<() => void>();

  function start(name: ServiceName): ServiceProcess {
    const child = spawn(process.execPath, [`services/${name}/src/main.ts`], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines: Record<string, unknown>[] = [];
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const proc: ServiceProcess = { name, child, lines, exited };
    for (const stream of [child.stdout, child.stderr]) {
      let buffered = '';
      stream?.setEncoding('utf8');
      stream?.on('data', (chunk: string) => {
        buffered += chunk;
        let newline = buffered.indexOf('\n');
        while (newline >= 0) {
          const line = buffered.slice(0, newline);
          buffered = buffered.slice(newline + 1);
          onLine?.(name, line);
          try {
            lines.push(JSON.parse(line) as Record<string, unknown>);
          } catch {
            lines.push({ msg: line });
          }
          for (const wake of waiters) wake();
          newline = buffered.indexOf('\n');
        }
      });
    }
    processes.set(name, proc);
    return proc;
  }

  for (const name of services) start(name);

  return {
    processes,
    start,
    async kill(name, signal = 'SIGKILL') {
      const proc = processes.get(name);
      if (!proc || proc.child.exitCode !== null || proc.child.signalCode !== null) return;
      proc.child.kill(signal);
      await proc.exited;
    },
    waitForLog(name, match, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const proc = processes.get(name);
          if (proc?.lines.some(match)) {
            cleanup();
            resolve();
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          const tail = processes
            .get(name)
            ?.lines.slice(-10)
            .map((l) => JSON.stringify(l))
            .join('\n');
          reject(
            new Error(`${name} did not log the expected line within ${timeoutMs} ms; last lines:\n${tail}`),
          );
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    async stop(graceMs = 10_000) {
      const running = [...processes.values()].filter(
        (p) => p.child.exitCode === null && p.child.signalCode === null,
      );
      for (const p of running) p.child.kill('SIGTERM');
      const timer = setTimeout(() => {
        for (const p of running) p.child.kill('SIGKILL');
      }, graceMs);
      await Promise.all(running.map((p) => p.exited));
      clearTimeout(timer);
    },
  };
}
