import cliProgress from 'cli-progress';
import type { ReplayProgress } from './replay.ts';

/** Reports a replay's progress: events done, rate and time left. */
export interface ProgressReporter {
  start(estimated: number): void;
  update(progress: ReplayProgress): void;
  stop(): void;
}

/** Events per second and seconds left, from where a replay stands. Pure. */
export function rateAndEta(progress: ReplayProgress): { rate: number; etaSeconds: number | undefined } {
  const rate = progress.elapsedMs > 0 ? (progress.done * 1_000) / progress.elapsedMs : 0;
  const left = Math.max(0, progress.estimated - progress.done);
  return { rate, etaSeconds: rate > 0 ? left / rate : undefined };
}

/**
 * A progress bar on an interactive stderr (cli-progress), or a plain line at most every `intervalMs` for logs
 * and pipes, where a redrawn bar would be noise.
 */
export function progressReporter({
  tty,
  err,
  label,
  intervalMs = 5_000,
}: {
  tty: boolean;
  err: (line: string) => void;
  label: string;
  intervalMs?: number;
}): ProgressReporter {
  if (tty) {
    const bar = new cliProgress.SingleBar(
      {
        format: `${label} [{bar}] {percentage}% | {value}/{total} events | {rate} ev/s | ETA {eta_formatted}`,
        stream: process.stderr,
        etaBuffer: 50,
        hideCursor: true,
      },
      cliProgress.Presets.shades_classic,
    );
    return {
      start: (estimated) => bar.start(Math.max(estimated, 1), 0, { rate: 0 }),
      update(progress) {
        if (progress.done > progress.estimated) bar.setTotal(progress.done);
        bar.update(progress.done, { rate: Math.round(rateAndEta(progress).rate) });
      },
      stop: () => bar.stop(),
    };
  }
  let lastAt = 0;
  return {
    start: (estimated) => err(`${label}: about ${estimated} events to read`),
    update(progress) {
      if (progress.elapsedMs - lastAt < intervalMs) return;
      lastAt = progress.elapsedMs;
      const { rate, etaSeconds } = rateAndEta(progress);
      const eta = etaSeconds === undefined ? '?' : `${Math.ceil(etaSeconds)}s`;
      err(
        `${label}: ${progress.done}/${progress.estimated} events, ${Math.round(rate)} ev/s, about ${eta} left`,
      );
    },
    stop: () => undefined,
  };
}
