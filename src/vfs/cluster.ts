/**
 * The whole cluster as one tree: each domain a top-level directory (mkdir
 * there creates a domain, rmdir of an empty one deletes it), each holding that
 * domain's files. Everything inside a domain is its DomainFs; moving between
 * domains is EXDEV, so `mv` copies and deletes as between filesystems.
 */
import { MogileFSAdmin } from '../client';
import { TtlCache } from './cache';
import { fail, isMog } from './errors';
import type { DomainFs } from './domainfs';
import { HandleOps } from './handles';
import type { Handles } from './handles';
import { encodeSegment, MARKER, parsePath } from './names';
import type { Space } from './space';
import { dirStat } from './stat';
import type { Stat, StatDefaults } from './stat';
import type { CreateOptions, DirEntryStat, MtimeChange, StatFs, Vfs } from './types';

type Route = { at: 'root' } | { at: 'domain'; domain: string; fs: DomainFs; sub: string };

export class ClusterFs extends HandleOps implements Vfs {
  private readonly domainList: TtlCache<'all', string[]>;
  private readonly byName = new Map<string, DomainFs>();

  constructor(
    private readonly admin: MogileFSAdmin,
    handles: Handles,
    private readonly space: Space,
    private readonly defaults: StatDefaults,
    cacheMs: number,
    private readonly makeDomain: (domain: string) => DomainFs,
    private readonly readOnly: boolean,
  ) {
    super(handles);
    this.domainList = new TtlCache(cacheMs);
  }

  private async domains(fresh = false): Promise<string[]> {
    const cached = fresh ? undefined : this.domainList.get('all');
    if (cached) return cached;
    const names = (await this.admin.getDomains()).map((d) => d.name);
    this.domainList.set('all', names);
    return names;
  }

  private domainFs(domain: string): DomainFs {
    let fs = this.byName.get(domain);
    if (!fs) {
      fs = this.makeDomain(domain);
      this.byName.set(domain, fs);
    }
    return fs;
  }

  /** Which domain a path is in, and the path inside it. */
  private async route(path: string, mustExist = true): Promise<Route & { name?: string }> {
    const comps = path.split('/').filter((c) => c !== '');
    if (comps.length === 0) return { at: 'root' };
    const ref = parsePath('/' + comps[0]);
    if (!ref || ref.segments.length !== 1 || ref.fileForm) fail('ENOENT', `no domain is shown as ${comps[0]}`);
    const domain = ref.segments[0];
    if (mustExist && !(await this.domains()).includes(domain) && !(await this.domains(true)).includes(domain)) {
      fail('ENOENT', `no domain ${domain}`);
    }
    return { at: 'domain', domain, fs: this.domainFs(domain), sub: '/' + comps.slice(1).join('/') };
  }

  private async inDomain(path: string, what: string): Promise<{ fs: DomainFs; sub: string }> {
    // The top level is checked before the domain exists: creating /name.txt is EPERM, where
    // asking for a domain of that name first answered ENOENT.
    const top = await this.route(path, false);
    if (top.at === 'root' || top.sub === '/') fail('EPERM', `${what}: the top level holds domains only`);
    const r = await this.route(path);
    if (r.at === 'root') fail('EPERM', `${what}: the top level holds domains only`);
    return r;
  }

  async getattr(path: string): Promise<Stat> {
    const r = await this.route(path);
    return r.at === 'root' ? dirStat(null, this.defaults) : r.fs.getattr(r.sub);
  }

  async readdir(path: string): Promise<DirEntryStat[]> {
    const r = await this.route(path);
    if (r.at === 'domain') return r.fs.readdir(r.sub);
    return (await this.domains(true)).map((d) => ({ name: encodeSegment(d)[0], stat: dirStat(null, this.defaults) }));
  }

  async mkdir(path: string, mode: number): Promise<void> {
    const r = await this.route(path, false);
    if (r.at === 'root') fail('EEXIST', '/ exists');
    if (r.sub !== '/') {
      await this.route(path); // the domain must exist
      return r.fs.mkdir(r.sub, mode);
    }
    if (this.readOnly) fail('EROFS', 'mounted read-only');
    await this.admin.createDomain(r.domain);
    this.domainList.delete('all');
  }

  async rmdir(path: string): Promise<void> {
    const r = await this.route(path);
    if (r.at === 'root') fail('EBUSY', '/ cannot be removed');
    if (r.sub !== '/') return r.fs.rmdir(r.sub);
    if (this.readOnly) fail('EROFS', 'mounted read-only');
    const v = r.fs.view;
    if (!(await v.isEmpty(''))) fail('ENOTEMPTY', `domain ${r.domain} is not empty`);
    await v.keyspace.remove(MARKER).catch((e: unknown) => {
      if (!isMog(e, 'unknown_key')) throw e;
    });
    try {
      await this.admin.deleteDomain(r.domain);
    } catch (e) {
      if (isMog(e, 'domain_has_classes')) fail('ENOTEMPTY', `domain ${r.domain} still has classes: remove them with mogadm class delete first`);
      throw e;
    }
    this.domainList.delete('all');
    this.byName.delete(r.domain);
  }

  async rename(from: string, to: string): Promise<void> {
    const a = await this.inDomain(from, 'rename');
    // As in inDomain: a target at the top level is EPERM before any domain lookup (that said ENOENT).
    const top = await this.route(to, false);
    if (top.at === 'root' || top.sub === '/') fail('EPERM', 'domains cannot be renamed, and the top level holds domains only');
    const b = await this.route(to, true);
    if (b.at === 'root') fail('EPERM', 'the top level holds domains only');
    if (a.fs !== b.fs) fail('EXDEV', 'moving between domains is a copy and a delete');
    return a.fs.rename(a.sub, b.sub);
  }

  async unlink(path: string): Promise<void> { const r = await this.inDomain(path, 'unlink'); return r.fs.unlink(r.sub); }
  async symlink(target: string, path: string): Promise<void> { const r = await this.inDomain(path, 'symlink'); return r.fs.symlink(target, r.sub); }
  async readlink(path: string): Promise<string> { const r = await this.inDomain(path, 'readlink'); return r.fs.readlink(r.sub); }
  async chmod(path: string, mode: number): Promise<void> { const r = await this.inDomain(path, 'chmod'); return r.fs.chmod(r.sub, mode); }
  async chown(path: string, uid: number, gid: number): Promise<void> { const r = await this.inDomain(path, 'chown'); return r.fs.chown(r.sub, uid, gid); }
  async utimens(path: string, mtime: MtimeChange): Promise<void> { const r = await this.inDomain(path, 'utimens'); return r.fs.utimens(r.sub, mtime); }
  async truncate(path: string, size: number): Promise<void> { const r = await this.inDomain(path, 'truncate'); return r.fs.truncate(r.sub, size); }
  async create(path: string, mode: number, opts?: CreateOptions): Promise<number> { const r = await this.inDomain(path, 'create'); return r.fs.create(r.sub, mode, opts); }
  async open(path: string, flags: number): Promise<number> { const r = await this.inDomain(path, 'open'); return r.fs.open(r.sub, flags); }
  async getxattr(path: string, name: string): Promise<Buffer> {
    const r = await this.route(path);
    return r.at === 'root' ? fail('ENODATA', `no ${name}`) : r.fs.getxattr(r.sub, name);
  }
  async listxattr(path: string): Promise<string[]> {
    const r = await this.route(path);
    return r.at === 'root' ? [] : r.fs.listxattr(r.sub);
  }
  async setxattr(path: string, name: string, value: Buffer, flags: number): Promise<void> {
    const r = await this.inDomain(path, 'setxattr');
    return r.fs.setxattr(r.sub, name, value, flags);
  }
  async removexattr(path: string, name: string): Promise<void> {
    const r = await this.inDomain(path, 'removexattr');
    return r.fs.removexattr(r.sub, name);
  }

  statfs(): Promise<StatFs> { return this.space.statfs(); }
}
