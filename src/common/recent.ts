/**
 * The last warnings and errors a process logged, kept in memory for the
 * status page: an operator looking at a phone sees what went wrong lately
 * without a log collector. Recorded from the one logger (a wrapper that sees
 * every warn/error/fatal, whatever the log level), so nothing has to report
 * twice.
 */
import type { Logger } from './log';

export interface RecentError {
  /** Unix milliseconds. */
  time: number;
  level: 'warn' | 'error' | 'fatal';
  /** Which part logged it: the logger's `worker` or `name` binding, when it has one. */
  source: string;
  message: string;
}

export class RecentErrors {
  private readonly items: RecentError[] = [];
  /** How many were recorded since the start, including those no longer kept. */
  total = 0;

  constructor(readonly capacity = 50) {}

  add(e: RecentError): void {
    this.total++;
    this.items.push(e);
    if (this.items.length > this.capacity) this.items.shift();
  }

  /** Newest first. */
  list(): RecentError[] {
    return this.items.slice().reverse();
  }
}

const RECORDED = new Set(['warn', 'error', 'fatal']);

/** pino's call shapes: (msg), (obj, msg), (err), (err, msg). */
function messageOf(args: unknown[]): string {
  const [first, second] = args;
  const parts: string[] = [];
  if (typeof first === 'string') parts.push(first);
  else if (typeof second === 'string') parts.push(second);
  const err = first instanceof Error ? first : (first as { err?: unknown } | null)?.err;
  if (err instanceof Error) parts.push(err.message);
  else if (typeof err === 'string') parts.push(err);
  return parts.join(': ').slice(0, 1000) || 'warning without a message';
}

/**
 * `log` with its warnings and errors (and those of every child made from it)
 * also added to `recent`.
 */
export function recordingLogger(log: Logger, recent: RecentErrors, source = ''): Logger {
  return new Proxy(log, {
    get(target, prop) {
      if (typeof prop === 'string' && RECORDED.has(prop)) {
        return (...args: unknown[]): void => {
          recent.add({ time: Date.now(), level: prop as RecentError['level'], source, message: messageOf(args) });
          (target[prop as 'warn'] as (...a: unknown[]) => void).apply(target, args);
        };
      }
      if (prop === 'child') {
        return (bindings: Record<string, unknown>, opts?: Parameters<Logger['child']>[1]): Logger => {
          const named = bindings.worker ?? bindings.name;
          return recordingLogger(target.child(bindings, opts) as unknown as Logger, recent, typeof named === 'string' ? named : source);
        };
      }
      return Reflect.get(target, prop, target) as unknown;
    },
  });
}
