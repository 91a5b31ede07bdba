/**
 * One client connection: splits the byte stream into request lines, runs
 * them strictly one after another (so pipelined requests are answered in
 * order) and writes `OK ...` / `ERR code text` replies. Nothing a client
 * sends can end the connection except an absurdly long line.
 */
import type { Socket } from 'node:net';
import { isDbUnavailable } from '../store';
import { durlBytes, encodeArgs, eurl, isMogError, NEEDS_DECODING } from '../protocol';
import type { Args } from '../protocol';
import { findCommand, mogErr, replyText } from './commands';
import type { CommandEnv, ReplyArgs } from './commands';
import { adminCommand } from './admin';
import type { TrackerContext } from './context';
import type { DirectoryMaker } from './vivify';
import type { TrackerMetrics } from './metrics';
import { ABSURD_LINE_BYTES, IdleTimer, RequestQueue } from '../common/lineconn';

/** Longest request line accepted; longer ones get an ERR and are skipped. */
export const MAX_LINE_BYTES = 64 * 1024;

export interface ConnectionEnv {
  ctx: TrackerContext;
  waitForMonitor(): Promise<void>;
  closing: AbortSignal;
  dirs: DirectoryMaker;
  stats: { started: number; processing: number; queries: number };
  metrics?: TrackerMetrics;
}

type Job = { kind: 'line'; line: string } | { kind: 'reply'; text: string };

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Decodes `a=1&b=2`. Values must be valid UTF-8 once percent-decoded: the
 * store keeps keys as text, and silently replacing bad bytes would make a
 * key nobody can address again.
 */
export function decodeRequestArgs(s: string): Args {
  const args: Args = Object.create(null) as Args;
  for (const pair of s.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const rawK = eq < 0 ? pair : pair.slice(0, eq);
    const rawV = eq < 0 ? '' : pair.slice(eq + 1);
    let k: string;
    let v: string;
    try {
      // Plain ASCII without escapes is valid UTF-8 and decodes to itself.
      k = NEEDS_DECODING.test(rawK) ? utf8.decode(durlBytes(rawK)) : rawK;
      v = NEEDS_DECODING.test(rawV) ? utf8.decode(durlBytes(rawV)) : rawV;
    } catch {
      throw mogErr('bad_args', `argument "${rawK.slice(0, 100)}" is not valid UTF-8 once percent-decoded; percent-encode the UTF-8 bytes of the text`);
    }
    args[k] = v;
  }
  return args;
}

export function handleConnection(socket: Socket, env: ConnectionEnv): void {
  socket.setNoDelay(true);
  const clientIp = socket.remoteAddress ?? '';
  const cmdEnv: CommandEnv = { ctx: env.ctx, clientIp, waitForMonitor: env.waitForMonitor, closing: env.closing, dirs: env.dirs };
  let buf: Buffer = Buffer.alloc(0);
  let discarding = 0; // bytes skipped of an over-long line, 0 when not skipping

  const write = (text: string): void => {
    if (!socket.destroyed && socket.writable) socket.write(text);
  };

  const runLine = async (line: string): Promise<string> => {
    if (line.startsWith('!')) return adminCommand(line, env.stats);
    env.stats.processing++;
    env.stats.queries++;
    const t0 = env.metrics ? performance.now() : 0;
    let command = 'unknown'; // metrics label: only known names, so clients cannot grow the series
    let outcome = 'ok';
    let callid: string | undefined;
    try {
      const m = /^\s*(\S+)\s*(.*?)\s*$/s.exec(line) as RegExpExecArray;
      const name = m[1].toLowerCase();
      const handler = /^\w+$/.test(name) ? findCommand(name, env.ctx.config.extensions) : undefined;
      if (!handler) throw mogErr('unknown_command');
      command = name;
      const args = decodeRequestArgs(m[2]);
      callid = args.callid;
      const reply: ReplyArgs = await handler(cmdEnv, args);
      if (callid !== undefined) reply.callid = callid;
      return `OK ${encodeArgs(reply)}\r\n`;
    } catch (err) {
      const tail = callid !== undefined ? ' ' + eurl(callid) : '';
      outcome = isMogError(err) ? err.code : 'internal_error';
      if (isMogError(err)) return `ERR ${err.code} ${eurl(replyText(err))}${tail}\r\n`;
      if (isDbUnavailable(err)) {
        // The database is down or restarting: say so; the pool reconnects on a later request.
        outcome = 'db';
        dbDownLog(env.ctx.log, err);
        const msg = `Database error: cannot reach the database (${(err as Error).message}); try again shortly`;
        return `ERR db ${eurl(msg.slice(0, 300))}${tail}\r\n`;
      }
      env.ctx.log.error({ err, line: line.slice(0, 500) }, 'command failed');
      const msg = err instanceof Error ? err.message : String(err);
      return `ERR internal_error ${eurl(`internal error: ${msg.slice(0, 300)}; the tracker log has details`)}${tail}\r\n`;
    } finally {
      env.stats.processing--;
      env.metrics?.observeRequest(command, outcome, (performance.now() - t0) / 1000);
    }
  };

  const idle = new IdleTimer(socket, env.ctx.config.idleTimeoutMs, () =>
    env.ctx.log.debug({ clientIp, idleTimeoutMs: env.ctx.config.idleTimeoutMs }, 'closing an idle client connection'));
  // A client that floods or does not read is not read further (RequestQueue).
  const queue = new RequestQueue<Job>(socket, async (job) => {
    idle.working();
    try {
      if (job.kind === 'reply') write(job.text);
      else write(await runLine(job.line));
    } finally {
      idle.answered();
    }
  });
  const enqueue = (job: Job): void => {
    idle.progress();
    queue.push(job);
  };

  socket.on('data', (chunk: Buffer) => {
    buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
    let start = 0;
    for (;;) {
      const nl = buf.indexOf(0x0a, start);
      if (nl < 0) break;
      if (discarding > 0) {
        discarding = 0;
      } else {
        let end = nl;
        if (end > start && buf[end - 1] === 0x0d) end--;
        if (end - start > MAX_LINE_BYTES) {
          enqueue({ kind: 'reply', text: tooLong() });
        } else {
          const line = buf.toString('utf8', start, end);
          // Blank lines are ignored, as by the original.
          if (/\S/.test(line)) enqueue({ kind: 'line', line });
        }
      }
      start = nl + 1;
    }
    buf = start === 0 ? buf : buf.subarray(start);
    if (buf.length > MAX_LINE_BYTES) {
      if (discarding === 0) enqueue({ kind: 'reply', text: tooLong() });
      discarding += buf.length;
      buf = Buffer.alloc(0);
      if (discarding > ABSURD_LINE_BYTES) {
        env.ctx.log.warn({ clientIp }, 'closing a connection that sent a request line over 16 MiB');
        socket.destroy();
        return;
      }
    }
    void queue.pump();
  });
  socket.on('error', (err) => env.ctx.log.debug({ err, clientIp }, 'client connection error'));
}

function tooLong(): string {
  return `ERR line_too_long ${eurl(`request line longer than ${MAX_LINE_BYTES} bytes; send shorter arguments`)}\r\n`;
}

/** An unreachable database is logged at most once a second, not once per request. */
let dbDownLoggedAt = 0;
function dbDownLog(log: { warn(o: object, m: string): void }, err: unknown): void {
  if (Date.now() - dbDownLoggedAt < 1000) return;
  dbDownLoggedAt = Date.now();
  log.warn({ err }, 'database unreachable: answering ERR db until it is back');
}
