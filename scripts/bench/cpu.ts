/** CPU accounting for the benchmarks, read from Linux's /proc (every function returns undefined elsewhere). */
import { readdirSync, readFileSync } from 'node:fs';

/** User + system CPU milliseconds a process has used, from /proc (undefined elsewhere). */
export function cpuMs(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of stat, in clock ticks (100 per second on Linux)
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return undefined;
  }
}

/** {@link cpuMs} of a process and its children (a gateway's cluster workers). */
export function treeCpuMs(pid: number | undefined): number | undefined {
  const own = cpuMs(pid);
  if (own === undefined) return undefined;
  let total = own;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) total += cpuMs(Number(entry)) ?? 0;
    } catch {
      // the process ended between listing and reading
    }
  }
  return total;
}

/** The pid of a local process by name, to account nats-server's CPU (undefined when not local or not Linux). */
export function findProcess(name: string): number | undefined {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return undefined; // not Linux: no CPU accounting
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === name) return Number(entry);
    } catch {
      // the process ended between listing and reading
    }
  }
  return undefined;
}

/** {@link cpuMs} summed over every process named `name` (all of Postgres' backends and workers). */
export function namedCpuMs(name: string): number | undefined {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return undefined;
  }
  let total = 0;
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === name) total += cpuMs(Number(entry)) ?? 0;
    } catch {
      // the process ended between listing and reading
    }
  }
  return total;
}
