/**
 * A daemon's `user = NAME` setting: the user's ids from the system's user
 * database (NSS: /etc/passwd, LDAP, sssd, systemd, ... whatever
 * /etc/nsswitch.conf names), and the switch to them. Node has no getpwnam of
 * its own that does not block, so the lookup asks `getent` and `id` (libc's
 * NSS, the same answers `ls -l` gets) as child processes, asynchronously,
 * once at start-up; the switch itself uses only numbers, so no lookup runs
 * after the daemon serves.
 */
import { execFile } from 'node:child_process';

export interface UserIds {
  name: string;
  uid: number;
  /** Primary group. */
  gid: number;
  /** Every group the user is in (primary included), as `id -G` lists them. */
  groups: number[];
}

function run(cmd: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string; missing: boolean }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: 30_000, env: { ...process.env, LC_ALL: 'C' } }, (err, stdout, stderr) => {
      const e = err as (NodeJS.ErrnoException & { code?: number | string }) | null;
      resolve({
        code: e ? (typeof e.code === 'number' ? e.code : null) : 0,
        stdout: String(stdout),
        stderr: String(stderr).trim(),
        missing: e?.code === 'ENOENT',
      });
    });
  });
}

function wholeNumber(s: string | undefined): number | null {
  return s !== undefined && /^\d+$/.test(s) ? Number(s) : null;
}

/**
 * The ids of `user` (a name or a numeric uid) from NSS. Throws an Error that
 * says what to do when the user is unknown or the lookup tools are missing.
 */
export async function lookupUser(user: string): Promise<UserIds> {
  const pw = await run('getent', ['passwd', user]);
  if (pw.missing) throw new Error('cannot look up users: `getent` is not on PATH (Debian package libc-bin)');
  if (pw.code === 2) throw new Error(`user "${user}" is not in the system's user database (getent passwd ${user} finds nothing); create it or fix the user setting`);
  if (pw.code !== 0) throw new Error(`looking up user "${user}" failed: getent passwd exited ${pw.code ?? 'on a signal'}${pw.stderr ? `: ${pw.stderr}` : ''}`);
  // name:password:uid:gid:gecos:home:shell; the first line if NSS answers twice.
  const fields = pw.stdout.split('\n')[0].split(':');
  const uid = wholeNumber(fields[2]);
  const gid = wholeNumber(fields[3]);
  if (fields.length < 7 || uid === null || gid === null) throw new Error(`getent passwd ${user} answered a line that is not a passwd entry: ${JSON.stringify(pw.stdout.trim())}`);
  // Supplementary groups through NSS too (getgrouplist), by the resolved name.
  const id = await run('id', ['-G', fields[0]]);
  if (id.missing) throw new Error('cannot look up groups: `id` is not on PATH (Debian package coreutils)');
  if (id.code !== 0) throw new Error(`looking up the groups of "${fields[0]}" failed: id -G exited ${id.code ?? 'on a signal'}${id.stderr ? `: ${id.stderr}` : ''}`);
  const groups = id.stdout.trim().split(/\s+/).filter(Boolean).map((g) => wholeNumber(g));
  if (groups.some((g) => g === null)) throw new Error(`id -G ${fields[0]} answered something that is not a list of group ids: ${JSON.stringify(id.stdout.trim())}`);
  const all = [gid, ...(groups as number[]).filter((g) => g !== gid)];
  return { name: fields[0], uid, gid, groups: all };
}

/** True when this process runs as root and `user` names someone to become. */
export function shouldSwitchUser(user: string | undefined): user is string {
  return Boolean(user) && user !== 'root' && typeof process.getuid === 'function' && process.getuid() === 0;
}

/**
 * Becomes the user: groups first (they need root), then gid, then uid. Only
 * numbers reach the system calls, so nothing here consults NSS.
 */
export function switchUser(ids: UserIds): void {
  if (!process.setgroups || !process.setgid || !process.setuid) throw new Error('switching users is not supported on this platform');
  process.setgroups(ids.groups);
  process.setgid(ids.gid);
  process.setuid(ids.uid);
}
