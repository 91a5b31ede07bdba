/**
 * What the serving commands (`mogfs dav`, `mogfs gateway`) share: where they
 * listen, which part of a domain they show, how long they trust a lookup,
 * and how they stop.
 */
import type { Command } from 'commander';
import { UsageError } from './tools/common';

export interface ServeFlags {
  prefix?: string;
  host: string;
  port: string;
  cacheTime: string;
}

export function withServeOptions(cmd: Command, defaultPort: number, what: string): Command {
  return cmd
    .option('--prefix <prefix>', `${what} only keys under this prefix (with --domain)`)
    .option('--host <address>', 'address to listen on', '127.0.0.1')
    .option('--port <n>', 'port to listen on (0: any free one)', String(defaultPort))
    .option('--cache-time <seconds>', 'how long listings and lookups are trusted', '1');
}

/** --port and --cache-time (seconds), checked. */
export function parseServeFlags(f: ServeFlags): { port: number; cacheSeconds: number } {
  const port = Number(f.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port must be a port number, got ${f.port}`);
  const cacheSeconds = Number(f.cacheTime);
  if (!(cacheSeconds >= 0)) throw new UsageError(`--cache-time must be a number of seconds >= 0, got ${f.cacheTime}`);
  return { port, cacheSeconds };
}

/** Ctrl-C and SIGTERM close the server and exit. */
export function stopOnSignals(close: () => Promise<void>): void {
  const stop = (): void => {
    void close().then(() => process.exit(0), () => process.exit(1));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
