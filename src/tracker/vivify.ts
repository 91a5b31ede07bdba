/**
 * Making sure a fid's directories exist before a client PUTs to it
 * (MogileFS::DevFID->vivify_directories): MKCOL /devN/b, /devN/b/mmm,
 * /devN/b/mmm/ttt on the storage node. Stock mogstored wants this; ours
 * creates directories on PUT anyway. Directories made recently are
 * remembered, so with consecutive fids nearly every create_open skips it.
 */
import { request } from 'undici';
import { fidPathOnDevice } from '../common/fidpath';
import { storageAgent } from './httpfile';

/** How long a made directory is remembered, ms (the original: an hour). */
const REMEMBER_MS = 3600_000;
const MAX_REMEMBERED = 100_000;

export class DirectoryMaker {
  private readonly made = new Map<string, number>();
  /**
   * Storage hosts that answered MKCOL with 400/405/501 (as the original, taken
   * to mean "no MKCOL here"): their PUT must create directories itself.
   */
  private readonly noMkcol = new Set<string>();

  constructor(private readonly timeoutMs: number) {}

  /** Best effort: a failure here shows up as a failed PUT, which the client reports. */
  async vivify(baseUrl: string, devid: number, fid: number): Promise<void> {
    if (this.noMkcol.has(baseUrl)) return;
    const parts = fidPathOnDevice(devid, fid).split('/').slice(1, -1); // devN, b, mmm, ttt
    let dir = `/${parts[0]}`;
    const now = Date.now();
    for (const p of parts.slice(1)) {
      dir += `/${p}`;
      const key = baseUrl + dir;
      const at = this.made.get(key);
      if (at !== undefined && now - at < REMEMBER_MS) continue;
      const ok = await this.mkcol(baseUrl, dir);
      if (!ok) return;
      if (this.noMkcol.has(baseUrl)) return;
      if (this.made.size >= MAX_REMEMBERED) this.made.clear();
      this.made.set(key, now);
    }
  }

  private async mkcol(baseUrl: string, dir: string): Promise<boolean> {
    try {
      const res = await request(baseUrl + dir, {
        method: 'MKCOL',
        dispatcher: storageAgent(this.timeoutMs),
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
      });
      await res.body.dump();
      if ([400, 405, 501].includes(res.statusCode)) {
        this.noMkcol.add(baseUrl);
        return true;
      }
      return res.statusCode >= 200 && res.statusCode < 300;
    } catch {
      return false;
    }
  }
}
