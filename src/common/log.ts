/**
 * The one logger: pino, JSON lines to stderr (so stdout stays for a command's
 * real output, such as the `ready` line of `mogfs up`). MOGFS_LOG_LEVEL sets
 * the level (default info; tests set silent).
 */
import pino from 'pino';

export type Logger = pino.Logger;

export function createLogger(name: string, level?: string): Logger {
  return pino(
    { name, level: level ?? process.env.MOGFS_LOG_LEVEL ?? 'info', base: { pid: process.pid } },
    pino.destination({ dest: 2, sync: false }),
  );
}
