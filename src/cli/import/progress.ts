/**
 * Progress of a bulk transfer: files and bytes done of the total, rate and
 * ETA. On a terminal one status line redrawn in place (\r); otherwise (a log,
 * a pipe) a plain line every few seconds, so logs stay readable.
 */
import { humanBytes } from '../tools/common';

export interface ProgressOptions {
  /** Where the progress goes (stderr, so stdout stays for results). */
  out: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  /** false: stay silent until stop() (default true). */
  enabled?: boolean;
  /** Overrides out.isTTY. */
  tty?: boolean;
  /** Words for the line: "uploaded", "exported". */
  verb: string;
  /** Plain-line interval, ms (default 5000). */
  lineIntervalMs?: number;
}

export class Progress {
  files = 0;
  bytes = 0;
  failed = 0;
  private readonly started = Date.now();
  private timer: NodeJS.Timeout | null = null;
  private readonly tty: boolean;
  private drawn = false;

  constructor(private readonly totalFiles: number, private readonly totalBytes: number, private readonly opts: ProgressOptions) {
    this.tty = opts.tty ?? Boolean(opts.out.isTTY);
  }

  start(): void {
    if (this.totalFiles === 0 || this.opts.enabled === false) return;
    const every = this.tty ? 200 : (this.opts.lineIntervalMs ?? 5000);
    this.timer = setInterval(() => this.render(), every);
    this.timer.unref();
  }

  fileDone(bytes: number): void {
    this.files++;
    this.bytes += bytes;
  }

  fileFailed(): void {
    this.failed++;
  }

  /** Print a message without tearing the status line. */
  note(line: string): void {
    if (this.tty && this.drawn) this.opts.out.write('\r\x1b[K');
    this.opts.out.write(`${line}\n`);
    if (this.tty && this.drawn) this.render();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (this.tty && this.drawn) {
      this.render();
      this.opts.out.write('\n');
    }
  }

  elapsedMs(): number {
    return Date.now() - this.started;
  }

  /** "12/40 files, 3.1 MiB/9.8 MiB, 1.2 MiB/s, ETA 0:05". */
  line(): string {
    const secs = Math.max(this.elapsedMs() / 1000, 0.001);
    const rate = this.bytes / secs;
    const fileRate = this.files / secs;
    let eta = '?';
    const left = this.totalBytes - this.bytes;
    if (this.bytes > 0 && left > 0) eta = clock(left / rate);
    else if (this.files > 0) eta = clock((this.totalFiles - this.files) / fileRate);
    const failed = this.failed ? `, ${this.failed} failed` : '';
    return `${this.opts.verb} ${this.files}/${this.totalFiles} files, ${humanBytes(this.bytes)}/${humanBytes(this.totalBytes)}, ` +
      `${humanBytes(Math.round(rate))}/s, ETA ${eta}${failed}`;
  }

  private render(): void {
    if (this.tty) {
      const cols = this.opts.out.columns || 100;
      this.opts.out.write(`\r\x1b[K${this.line().slice(0, Math.max(cols - 1, 20))}`);
      this.drawn = true;
    } else {
      this.opts.out.write(`${this.line()}\n`);
    }
  }
}

/** 75 -> "1:15", 3700 -> "1:01:40". */
export function clock(secs: number): string {
  if (!Number.isFinite(secs) || secs < 0) return '?';
  const s = Math.round(secs);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/** Runs fn over items with at most `jobs` at once; fn handles its own errors. */
export async function runPool<T>(items: readonly T[], jobs: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++];
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(jobs, items.length)) }, worker));
}
