/** CPU accounting for the benchmarks, read from Linux's /proc (every function returns undefined elsewhere). */
import { readdirSync, readFileSync } from 'node:fs';

/** Every process's pid, or undefined where there is no /proc. */
function allPids(): number[] | undefined {
  try {
    return readdirSync('/proc')
      .filter((entry) => /^\d+$/.test(entry))
      .map(Number);
  } catch {
    return undefined;
  }
}

/** A process's /proc file, or undefined (no /proc, or the process ended between listing and reading). */
function procFile(pid: number, file: 'stat' | 'comm'): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'utf8');
  } catch {
    return undefined;
  }
}

/** The fields of /proc/<pid>/stat after the command name: the state is [0], the parent pid [1]. */
function statFields(pid: number): string[] | undefined {
  const stat = procFile(pid, 'stat');
  return stat?.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** The pids of the processes named `name`. */
function named(name: string): number[] | undefined {
  return allPids()?.filter((pid) => procFile(pid, 'comm')?.trim() === name);
}

/**
 * CPU milliseconds from one read of a process's stat: its own user + system time (fields 14 and 15), and that
 * of its children that ended and were waited for (16 and 17); in clock ticks, 100 per second on Linux.
 */
function cpuTimes(pid: number): { own: number; reaped: number } | undefined {
  const fields = statFields(pid);
  if (!fields) return undefined;
  const ticks = (i: number) => Number(fields[i]) * 10;
  return { own: ticks(11) + ticks(12), reaped: ticks(13) + ticks(14) };
}

/** User + system CPU milliseconds a process has used, from /proc (undefined elsewhere). */
export function cpuMs(pid: number | undefined): number | undefined {
  return pid === undefined ? undefined : cpuTimes(pid)?.own;
}

/** {@link cpuMs} of a process and its children (a gateway's cluster workers). */
export function treeCpuMs(pid: number | undefined): number | undefined {
  const own = cpuMs(pid);
  if (own === undefined) return undefined;
  const children = allPids()?.filter((child) => Number(statFields(child)?.[1]) === pid) ?? [];
  return children.reduce((total, child) => total + (cpuMs(child) ?? 0), own);
}

/** The pid of a local process by name, to account nats-server's CPU (undefined when not local or not Linux). */
export function findProcess(name: string): number | undefined {
  return named(name)?.[0];
}

/**
 * {@link cpuMs} summed over every process named `name` (all of Postgres' backends and workers), with what the
 * ones that ended had used, as their parent (the postmaster) accounts it: a backend whose connection closes
 * during a pass leaves the total rather than taking its CPU time out of it.
 */
export function namedCpuMs(name: string): number | undefined {
  return named(name)?.reduce((total, pid) => {
    const times = cpuTimes(pid);
    return times ? total + times.own + times.reaped : total;
  }, 0);
}
