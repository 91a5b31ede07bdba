/**
 * What mogilefsd and mogstored share as long-running processes: a pid file
 * for init scripts, a clean stop on SIGTERM/SIGINT (exit code 0 once every
 * listener is closed, as the originals exit 0 on TERM), and an entry point
 * that turns a failed start into one line on stderr and exit code 1.
 */
import { writeFile } from 'node:fs/promises';
import { unlinkSync } from 'node:fs';
import type { Logger } from './log';

/** Whether a process with this pid runs (EPERM: it does, as another user). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Give up on a clean stop after this long and exit anyway. */
const STOP_DEADLINE_MS = 5000;

/** Writes our pid to `file` (the original's pidfile setting); removed again when the process exits. */
export async function writePidFile(file: string): Promise<void> {
  try {
    await writeFile(file, `${process.pid}\n`);
  } catch (err) {
    throw new Error(`cannot write pidfile ${file}: ${(err as Error).message}; fix the path or its permissions`);
  }
  // 'exit' handlers must be synchronous; this runs once, at exit, off any request path.
  process.once('exit', () => {
    try {
      unlinkSync(file);
    } catch {
      // already gone: nothing to clean up
    }
  });
}

/**
 * On the first SIGTERM or SIGINT: log, run `stop`, and leave the exit code
 * at 0 (1 if stopping failed) for the event loop to drain. A second signal,
 * or a stop that hangs, exits at once.
 */
export function stopOnSignals(name: string, log: Logger, stop: () => Promise<void>): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      log.warn({ signal }, `${name} stopping at once`);
      process.exit(process.exitCode ?? 1);
    }
    stopping = true;
    log.info({ signal }, `${name} stopping`);
    setTimeout(() => {
      log.warn(`${name} did not stop within ${STOP_DEADLINE_MS} ms; exiting anyway`);
      process.exit(process.exitCode ?? 0);
    }, STOP_DEADLINE_MS).unref();
    stop().then(
      () => {
        process.exitCode = 0;
        log.info(`${name} stopped`);
      },
      (err: unknown) => {
        log.error({ err }, 'error while stopping');
        process.exitCode = 1;
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

/**
 * Runs a daemon's start function as the process entry: never rejects.
 * commander has already printed its own usage errors; anything else is one
 * line, `NAME: message`, and exit code 1.
 */
export async function runDaemonMain<T>(name: string, start: () => Promise<T>): Promise<T | null> {
  try {
    return await start();
  } catch (err) {
    const e = err as { code?: string; exitCode?: number; message?: string };
    if (typeof e.code === 'string' && e.code.startsWith('commander.')) {
      process.exitCode = e.exitCode ?? 1;
    } else {
      process.stderr.write(`${name}: ${e.message ?? String(err)}\n`);
      process.exitCode = 1;
    }
    return null;
  }
}
