/**
 * Progress of a bulk transfer. The walk and the listing are streamed, so no
 * total is known up front: files and bytes sent so far, their rates, and how
 * many files were checked (and found unchanged). On a terminal one status
 * line redrawn in place (\r); otherwise (a log, a pipe) a plain line every
 * few seconds, so logs stay readable.
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
  /** Files compared with what is stored (the walk's position), and how many of them needed nothing. */
  checked = 0;
  unchanged = 0;
  private readonly started = Date.now();
  private timer: NodeJS.Timeout | null = null;
  private readonly tty: boolean;
  private drawn = false;

  constructor(private readonly opts: ProgressOptions) {
    this.tty = opts.tty ?? Boolean(opts.out.isTTY);
  }

  start(): void {
    if (this.opts.enabled === false) return;
    const every = this.tty ? 200 : (this.opts.lineIntervalMs ?? 5000);
    this.timer = setInterval(() => this.render(), every);
    this.timer.unref();
  }

  fileDone(bytes: number): void {
    this.files++;
    this.bytes += bytes;
  }

  fileChecked(unchanged: boolean): void {
    this.checked++;
    if (unchanged) this.unchanged++;
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

  /** "uploaded 12 files, 3.1 MiB in 0:03 (1.0 MiB/s, 4 files/s); 5000 checked, 4988 unchanged". */
  line(): string {
    const secs = Math.max(this.elapsedMs() / 1000, 0.001);
    const failed = this.failed ? `, ${this.failed} failed` : '';
    return `${this.opts.verb} ${this.files} files, ${humanBytes(this.bytes)} in ${clock(secs)} ` +
      `(${humanBytes(Math.round(this.bytes / secs))}/s, ${Math.round(this.files / secs)} files/s); ` +
      `${this.checked} checked, ${this.unchanged} unchanged${failed}`;
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
