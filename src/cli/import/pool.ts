/**
 * The transfer pool: work taken from a stream as it comes, at most `jobs`
 * at once, so what waits in memory is bounded by the pool and not by the
 * size of the tree or the listing.
 */
import { once } from 'node:events';

/**
 * Runs fn over what `source` yields with at most `jobs` running; the next
 * item is taken only when one finishes. fn handles its own errors; an error
 * of the source stops taking work and is thrown once the running jobs end.
 */
export async function runPool<T>(source: AsyncIterable<T> | Iterable<T>, jobs: number, fn: (item: T) => Promise<void>): Promise<void> {
  const it = Symbol.asyncIterator in source ? source[Symbol.asyncIterator]() : (source as Iterable<T>)[Symbol.iterator]();
  let stop = false;
  let failure: { error: unknown } | null = null;
  const worker = async (): Promise<void> => {
    while (!stop) {
      try {
        // An async generator queues concurrent next() calls, so workers share it safely.
        const r = await it.next();
        if (r.done) break;
        await fn(r.value);
      } catch (e) {
        failure ??= { error: e };
        break;
      }
    }
    stop = true;
  };
  await Promise.all(Array.from({ length: Math.max(1, jobs) }, worker));
  if (failure) throw (failure as { error: unknown }).error;
}

/** Writes a line, waiting while the stream's buffer is full (stdout to a slow pipe). */
export async function writeLine(out: NodeJS.WritableStream, line: string): Promise<void> {
  if (!out.write(`${line}\n`)) await once(out, 'drain');
}
