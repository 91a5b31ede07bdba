/**
 * The one logger: pino to stderr (so stdout stays for a command's real
 * output, such as the `ready` line of `mogfs up`). JSON lines for log
 * collectors; pretty, coloured lines when stderr is a terminal or
 * MOGFS_LOG_PRETTY=1 (MOGFS_LOG_PRETTY=0 forces JSON even on a terminal).
 * MOGFS_LOG_LEVEL sets the level (default info; tests set silent).
 */
import pino from 'pino';
import pretty from 'pino-pretty';

export type Logger = pino.Logger;

/** Whether createLogger prints for people (true) or for machines (false). */
export function wantsPrettyLogs(env: NodeJS.ProcessEnv = process.env, isTTY = process.stderr.isTTY === true): boolean {
  const flag = env.MOGFS_LOG_PRETTY;
  if (flag === '1' || flag === 'true') return true;
  if (flag === '0' || flag === 'false') return false;
  return isTTY;
}

export function createLogger(name: string, level?: string): Logger {
  const opts: pino.LoggerOptions = { name, level: level ?? process.env.MOGFS_LOG_LEVEL ?? 'info', base: { pid: process.pid } };
  if (opts.level !== 'silent' && wantsPrettyLogs()) {
    // In-process stream rather than a pino transport: no worker thread to
    // start, and nothing lost when a short-lived command exits.
    const stream = pretty({
      destination: 2,
      colorize: process.stderr.isTTY === true,
      translateTime: 'SYS:yyyy-mm-dd HH:MM:ss.l',
      ignore: 'hostname',
    });
    return pino(opts, stream);
  }
  return pino(opts, pino.destination({ dest: 2, sync: false }));
}
