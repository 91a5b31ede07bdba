/**
 * Basic authentication from a users file: one `name:hash:mode` line per
 * user, the hash scrypt with a random salt (`scrypt$N$r$p$salt$hash`, base64),
 * the mode `rw` or `ro`. `mogfs dav-user` writes the file. Checked hashes
 * are remembered (by a SHA-256 of the header) so scrypt's deliberate cost is
 * paid once per client, not per request.
 */
import { createHash, randomBytes, scrypt as scryptCb, timingSafeEqual } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';

const scrypt = promisify(scryptCb) as (pw: string, salt: Buffer, len: number, o: { N: number; r: number; p: number; maxmem: number }) => Promise<Buffer>;

export interface DavUser { name: string; hash: string; readOnly: boolean }

export type Who = { user: string; readOnly: boolean } | null;

const N = 16384;
const R = 8;
const P = 1;

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(password, salt, 32, { N, r: R, p: P, maxmem: 64 << 20 });
  return `scrypt$${N}$${R}$${P}$${salt.toString('base64')}$${key.toString('base64')}`;
}

export async function verifyPassword(password: string, hash: string): Promise<boolean> {
  const [alg, n, r, p, salt, key] = hash.split('$');
  if (alg !== 'scrypt' || !key) return false;
  const want = Buffer.from(key, 'base64');
  const got = await scrypt(password, Buffer.from(salt, 'base64'), want.length, { N: Number(n), r: Number(r), p: Number(p), maxmem: 64 << 20 });
  return got.length === want.length && timingSafeEqual(got, want);
}

export async function readUsers(file: string): Promise<DavUser[]> {
  const text = await readFile(file, 'utf8');
  const users: DavUser[] = [];
  for (const [i, line] of text.split('\n').entries()) {
    const l = line.trim();
    if (l === '' || l.startsWith('#')) continue;
    const [name, hash, mode = 'rw'] = l.split(':');
    if (!name || !hash || (mode !== 'rw' && mode !== 'ro')) throw new Error(`${file}:${i + 1}: expected name:hash:rw|ro`);
    users.push({ name, hash, readOnly: mode === 'ro' });
  }
  return users;
}

/** Adds or replaces a user in the users file (written to a temp file and renamed). */
export async function setUser(file: string, name: string, password: string, readOnly: boolean): Promise<void> {
  if (!/^[^:\s]+$/.test(name)) throw new Error('a user name cannot hold ":" or spaces');
  const users = await readUsers(file).catch((e: NodeJS.ErrnoException) => (e.code === 'ENOENT' ? [] : Promise.reject(e)));
  const rest = users.filter((u) => u.name !== name);
  rest.push({ name, hash: await hashPassword(password), readOnly });
  const text = rest.map((u) => `${u.name}:${u.hash}:${u.readOnly ? 'ro' : 'rw'}`).join('\n') + '\n';
  await writeFile(`${file}.tmp`, text, { mode: 0o600 });
  await rename(`${file}.tmp`, file);
}

export class Authenticator {
  private readonly known = new Map<string, Who>();

  constructor(private readonly users: DavUser[], private readonly anonymousRead: boolean) {}

  /** Who sends this Authorization header: a user, the anonymous reader, or null (401). */
  async check(header: string | undefined): Promise<Who> {
    if (!header) return this.anonymousRead ? { user: '', readOnly: true } : null;
    const id = createHash('sha256').update(header).digest('base64');
    if (this.known.has(id)) return this.known.get(id) ?? null;
    const m = /^Basic\s+(\S+)$/i.exec(header);
    let who: Who = null;
    if (m) {
      const text = Buffer.from(m[1], 'base64').toString('utf8');
      const colon = text.indexOf(':');
      const u = this.users.find((x) => x.name === text.slice(0, colon));
      if (colon > 0 && u && (await verifyPassword(text.slice(colon + 1), u.hash))) who = { user: u.name, readOnly: u.readOnly };
    }
    if (this.known.size > 10_000) this.known.clear();
    this.known.set(id, who);
    return who;
  }
}
