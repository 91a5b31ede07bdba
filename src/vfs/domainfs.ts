/**
 * A domain (or a key prefix inside it) as a Vfs: the operations of tree.ts,
 * attrs.ts and handles.ts over one DomainView.
 */
import { fail } from './errors';
import type { DomainView } from './domain';
import * as attrs from './attrs';
import { HandleOps } from './handles';
import type { Handles } from './handles';
import type { Space } from './space';
import type { Stat } from './stat';
import * as tree from './tree';
import type { CreateOptions, DirEntryStat, MtimeChange, StatFs, Vfs } from './types';

export class DomainFs extends HandleOps implements Vfs {
  constructor(
    readonly view: DomainView,
    handles: Handles,
    private readonly space: Space,
    private readonly domain: string,
    private readonly defaultClass: string | undefined,
  ) {
    super(handles);
  }

  async getattr(path: string): Promise<Stat> {
    const { node } = await this.view.need(path);
    return this.view.stat(node);
  }

  async readdir(path: string): Promise<DirEntryStat[]> {
    const { ref, node } = await this.view.need(path);
    if (node.kind === 'file') fail('ENOTDIR', `${path} is not a directory`);
    return this.view.entries(ref);
  }

  mkdir(path: string, mode: number): Promise<void> { return tree.mkdir(this.view, path, mode); }
  rmdir(path: string): Promise<void> { return tree.rmdir(this.view, path); }
  unlink(path: string): Promise<void> { return tree.unlink(this.view, path); }
  rename(from: string, to: string): Promise<void> { return tree.rename(this.view, from, to); }
  symlink(target: string, path: string): Promise<void> { return tree.symlink(this.view, target, path); }
  readlink(path: string): Promise<string> { return tree.readlink(this.view, path); }

  chmod(path: string, mode: number): Promise<void> { return attrs.chmod(this.view, path, mode); }
  chown(path: string, uid: number, gid: number): Promise<void> { return attrs.chown(this.view, path, uid, gid); }
  utimens(path: string, mtime: MtimeChange): Promise<void> { return attrs.utimens(this.view, path, mtime); }
  getxattr(path: string, name: string): Promise<Buffer> { return attrs.getxattr(this.view, path, name); }
  setxattr(path: string, name: string, value: Buffer, flags: number): Promise<void> {
    return attrs.setxattr(this.view, path, name, value, flags);
  }
  listxattr(path: string): Promise<string[]> { return attrs.listxattr(this.view, path); }
  removexattr(path: string, name: string): Promise<void> { return attrs.setxattr(this.view, path, name, null, 0); }

  truncate(path: string, size: number): Promise<void> { return this.handles.truncate(this.view, path, size); }
  create(path: string, mode: number, opts?: CreateOptions): Promise<number> { return this.handles.create(this.view, path, mode, opts); }
  open(path: string, flags: number): Promise<number> { return this.handles.open(this.view, path, flags); }
  statfs(): Promise<StatFs> {
    return this.space.statfs(this.domain, this.defaultClass);
  }
}
