/**
 * A background pass that runs now, then intervalMs after each pass ends,
 * or at once when woken; a wake during a pass runs one more right after it.
 * The shape of the monitor, the dead-device reaper and the drain/rebalance
 * worker (the jobs with queues use pump.ts instead).
 */
export interface Periodic {
  wake(): void;
  /** No more passes; resolves when the one running (if any) has ended. */
  close(): Promise<void>;
}

/** `pass` handles its own errors; one that throws anyway only ends that pass. */
export function periodic(intervalMs: number, pass: () => Promise<void>): Periodic {
  let closed = false;
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> | null = null;
  let again = false;
  const run = (): void => {
    if (closed) return;
    if (timer) clearTimeout(timer);
    timer = null;
    running = pass()
      .catch(() => undefined)
      .finally(() => {
        running = null;
        if (closed) return;
        if (again) {
          again = false;
          run();
        } else {
          timer = setTimeout(run, intervalMs);
        }
      });
  };
  run();
  return {
    wake(): void {
      if (closed) return;
      if (running) again = true;
      else run();
    },
    async close(): Promise<void> {
      closed = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
