/**
 * What the stock Perl `MogileFS::Client` 1.x puts on the wire, for the
 * benchmarks (mogilefs/perl-MogileFS-Client: Client.pm, Backend.pm,
 * NewHTTPFile.pm): one persistent tracker connection per client, one request
 * line at a time with arguments escaped as Backend.pm escapes them (`/`, `:`,
 * `,`, `\` left as they are, space as `+`); `store_content` as `create_open`
 * with `fid=0` and `multi_dest=1`, the body as an HTTP/1.0 PUT with a
 * lowercase `Content-length` header on a new TCP connection, header and body
 * in two writes, the connection closed once the status line is read, then
 * `create_close` with fid, devid, domain, size, key and path; `get_paths`
 * with `noverify=0`; `delete`.
 */
import net from 'node:net';

function escapeArg(s: string): string {
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(b);
    if (/[a-zA-Z0-9_,\-./\\: ]/.test(c)) out += c === ' ' ? '+' : c;
    else out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

function decodeArgs(s: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of s.split('&')) {
    if (pair === '') continue;
    const [k, v = ''] = pair.split('=');
    const dec = (x: string): string => Buffer.from(x.replace(/\+/g, ' ').replace(/%([0-9a-fA-F]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16))), 'latin1').toString('utf8');
    out[dec(k)] = dec(v);
  }
  return out;
}

export class StockMogError extends Error {
  constructor(readonly code: string, message: string) {
    super(`${code} ${message}`);
  }
}

export class StockClient {
  private sock: net.Socket | null = null;
  private buf = '';
  private waiter: ((line: string) => void) | null = null;

  constructor(private readonly tracker: string, private readonly domain: string) {}

  private async connect(): Promise<net.Socket> {
    if (this.sock) return this.sock;
    const [host, port] = this.tracker.split(':');
    const s = net.connect(Number(port), host);
    await new Promise<void>((resolve, reject) => {
      s.once('connect', resolve);
      s.once('error', reject);
    });
    s.setEncoding('latin1');
    s.on('data', (d: string) => {
      this.buf += d;
      const nl = this.buf.indexOf('\n');
      if (nl >= 0 && this.waiter) {
        const line = this.buf.slice(0, nl + 1);
        this.buf = this.buf.slice(nl + 1);
        const w = this.waiter;
        this.waiter = null;
        w(line);
      }
    });
    s.on('close', () => { this.sock = null; });
    this.sock = s;
    return s;
  }

  /** Backend.pm's do_request: one line out, one line back. */
  async request(cmd: string, args: Record<string, string | number | undefined>): Promise<Record<string, string>> {
    const s = await this.connect();
    const argstr = Object.entries(args).filter(([, v]) => v !== undefined).map(([k, v]) => `${escapeArg(k)}=${escapeArg(String(v))}`).join('&');
    const line = await new Promise<string>((resolve) => {
      this.waiter = resolve;
      s.write(`${cmd} ${argstr}\r\n`, 'latin1');
    });
    const err = /^ERR\s+(\w+)\s*(\S*)/.exec(line);
    if (err) throw new StockMogError(err[1], decodeURIComponent(err[2].replace(/\+/g, ' ')));
    const ok = /^OK\s+\d*\s*(\S*)/.exec(line);
    if (!ok) throw new Error(`invalid response from server: ${line}`);
    return decodeArgs(ok[1]);
  }

  /** Client.pm store_content: new_file (no length given), print, close. */
  async storeContent(key: string, cls: string | undefined, body: Buffer): Promise<void> {
    const r = await this.request('create_open', { domain: this.domain, class: cls, key, fid: 0, multi_dest: 1 });
    const devid = r.devid_1 ?? r.devid;
    const path = r.path_1 ?? r.path;
    await httpPut10(path, body);
    await this.request('create_close', { fid: r.fid, devid, domain: this.domain, size: body.length, key, path });
  }

  async getPaths(key: string): Promise<string[]> {
    const r = await this.request('get_paths', { domain: this.domain, key, noverify: 0 });
    return Array.from({ length: Number(r.paths ?? 0) }, (_v, i) => r[`path${i + 1}`]);
  }

  async delete(key: string): Promise<void> {
    try {
      await this.request('delete', { domain: this.domain, key });
    } catch (e) {
      if (!(e instanceof StockMogError && e.code === 'unknown_key')) throw e;
    }
  }

  close(): void {
    this.sock?.destroy();
    this.sock = null;
  }
}

/** NewHTTPFile's CLOSE: connect, the request head, the body, the status line, close. */
function httpPut10(url: string, body: Buffer): Promise<void> {
  const m = /^http:\/\/(.+?):(\d+)(\/.+)$/.exec(url);
  if (!m) return Promise.reject(new Error(`bogus URL ${url}`));
  return new Promise((resolve, reject) => {
    const s = net.connect(Number(m[2]), m[1]);
    let head = '';
    s.setEncoding('latin1');
    s.once('connect', () => {
      s.write(`PUT ${m[3]} HTTP/1.0\r\nContent-length: ${body.length}\r\n\r\n`);
      s.write(body);
    });
    s.on('data', (d: string) => {
      head += d;
      const nl = head.indexOf('\n');
      if (nl < 0) return;
      const status = /^HTTP\/\d+\.\d+\s+(\d+)/.exec(head.slice(0, nl));
      s.destroy();
      if (status && Number(status[1]) >= 200 && Number(status[1]) <= 299) resolve();
      else reject(new Error(`PUT ${url}: ${head.slice(0, nl).trim()}`));
    });
    s.once('error', reject);
    s.once('close', () => reject(new Error(`PUT ${url}: connection closed before a status line`)));
  });
}
