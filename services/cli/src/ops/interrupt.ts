/**
 * An abort signal raised by Ctrl-C (SIGINT) or SIGTERM while a long command runs, so it can stop between
 * batches and leave things consistent. Dispose it (`using`) to give the signals back: the CLI also runs
 * in-process in tests, where a listener left behind would outlive the command.
 */
export function interruptSignal(): { signal: AbortSignal } & Disposable {
  const controller = new AbortController();
  const onSignal = () => controller.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    [Symbol.dispose]() {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
