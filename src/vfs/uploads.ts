/**
 * Uploads opened ahead of need, so storing a small file through the view
 * waits for PUT and create_close only: its create_open was sent while the
 * file before it was still being stored. A few are kept for new files of the
 * default class (the common case); one older than MAX_AGE_MS is given back
 * unused, since the devices it names may have changed.
 */
import type { MogileFS, OpenUpload } from '../client';
import type { Logger } from '../common/log';

const KEEP = 2;
const MAX_AGE_MS = 20_000;

export class UploadPool {
  private ready: Array<{ upload: OpenUpload; at: number }> = [];
  private filling = false;
  private closed = false;

  constructor(private readonly client: MogileFS, private readonly log: Logger) {}

  /** An upload to use now (and more opened in the background), or undefined: the store opens its own. */
  take(): OpenUpload | undefined {
    let got: OpenUpload | undefined;
    while (!got && this.ready.length > 0) {
      const r = this.ready.shift() as { upload: OpenUpload; at: number };
      if (Date.now() - r.at < MAX_AGE_MS) got = r.upload;
      else void this.client.abandonUpload(r.upload).catch(() => undefined);
    }
    this.fill();
    return got;
  }

  /** Gives back every upload not used (at unmount). */
  async close(): Promise<void> {
    this.closed = true;
    const left = this.ready;
    this.ready = [];
    await Promise.all(left.map((r) => this.client.abandonUpload(r.upload).catch(() => undefined)));
  }

  private fill(): void {
    if (this.filling || this.closed) return;
    this.filling = true;
    void (async () => {
      try {
        while (!this.closed && this.ready.length < KEEP) {
          const upload = await this.client.openUpload();
          if (this.closed) await this.client.abandonUpload(upload).catch(() => undefined);
          else this.ready.push({ upload, at: Date.now() });
        }
      } catch (e) {
        // No upload ahead this time (no devices, tracker busy): stores open their own, and report why.
        this.log.debug({ err: (e as Error).message }, 'could not open an upload ahead');
      } finally {
        this.filling = false;
      }
    })();
  }
}
