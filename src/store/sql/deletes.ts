/**
 * The delete queue (file_to_delete2), shared by every tracker on the
 * database. A claim selects due rows (FOR UPDATE SKIP LOCKED on MySQL) and
 * pushes their nexttry forward by a lease in the same transaction, so two
 * trackers never take the same job; a tracker that dies mid-job loses its
 * lease and the job comes back when it runs out.
 */
import type { DeleteJob } from '../types';
import { type Dialect, lim, type SqlDb } from './conn';
import { leaseDue } from './lease';

export class DeleteQueue {
  constructor(private readonly db: SqlDb) {}

  private get d(): Dialect { return this.db.dialect; }

  async enqueue(fid: number, nexttry: number): Promise<void> {
    const d = this.d;
    await this.db.run(
      `INSERT INTO file_to_delete2 (fid, nexttry) VALUES (?, ?)${d.upsert('fid', `nexttry = ${d.least}(nexttry, ${d.excluded('nexttry')})`)}`,
      fid, nexttry,
    );
  }

  async claim(now: number, limit: number, leaseSeconds: number): Promise<DeleteJob[]> {
    const n = lim(limit);
    if (n === 0) return [];
    const d = this.d;
    return this.db.tx((q) => leaseDue<DeleteJob>(
      q, d, { table: 'file_to_delete2', cols: 'fid, nexttry, failcount', where: '', params: [] }, now, n, now + leaseSeconds,
    ));
  }

  async finish(fid: number): Promise<void> {
    await this.db.run('DELETE FROM file_to_delete2 WHERE fid = ?', fid);
  }

  async retry(fid: number, nexttry: number, failcount: number): Promise<void> {
    await this.db.run('UPDATE file_to_delete2 SET nexttry = ?, failcount = ? WHERE fid = ?', nexttry, Math.min(failcount, 255), fid);
  }

  /** Whether the fid names a file again (a fid given back by create_open's fid=), and the devices still holding it. */
  async jobState(fid: number): Promise<{ live: boolean; devids: number[] }> {
    const r = await this.db.get<{ live: number; devids: string | Buffer | null }>(
      'SELECT EXISTS (SELECT 1 FROM file WHERE fid = ?) AS live, (SELECT GROUP_CONCAT(devid) FROM file_on WHERE fid = ?) AS devids', fid, fid);
    const list = r?.devids === null || r?.devids === undefined ? '' : String(r.devids);
    return { live: Number(r?.live ?? 0) === 1, devids: list === '' ? [] : list.split(',').map(Number).sort((a, b) => a - b) };
  }

  /** The copies are gone: the file_on rows and the job go, unless the fid names a file again. True when they went. */
  async finishDeletedFile(fid: number): Promise<boolean> {
    return this.db.tx(async (q) => {
      if (await q.get(`SELECT 1 FROM file WHERE fid = ?${this.d.forUpdate}`, fid)) return false;
      await q.run('DELETE FROM file_on WHERE fid = ?', fid);
      await q.run('DELETE FROM file_to_delete2 WHERE fid = ?', fid);
      return true;
    });
  }

  async depths(): Promise<{ replicate: number; delete: number }> {
    const r = await this.db.get<{ n: number }>('SELECT COUNT(*) AS n FROM file_to_replicate');
    const d = await this.db.get<{ n: number }>('SELECT COUNT(*) AS n FROM file_to_delete2');
    return { replicate: Number(r?.n ?? 0), delete: Number(d?.n ?? 0) };
  }
}
