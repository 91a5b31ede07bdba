/**
 * The delete queue (file_to_delete2), shared by every tracker on the
 * database. A claim selects due rows (FOR UPDATE SKIP LOCKED on MySQL) and
 * pushes their nexttry forward by a lease in the same transaction, so two
 * trackers never take the same job; a tracker that dies mid-job loses its
 * lease and the job comes back when it runs out.
 */
import type { DeleteJobState } from '../store';
import type { DeleteJob } from '../types';
import { type Dialect, lim, type SqlDb } from './conn';
import { leaseDue } from './lease';
import { chunks, marks, padList } from './lists';

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

  /**
   * jobState of many fids, one query per MAX_LIST of them: whether each
   * names a file again (a fid given back by create_open's fid=), and the
   * devices still holding it. Every fid asked has an entry.
   */
  async jobStates(fids: number[]): Promise<Map<number, DeleteJobState>> {
    const states = new Map(fids.map((fid) => [fid, { live: false, devids: [] as number[] }]));
    for (const part of chunks([...states.keys()])) {
      const list = padList(part);
      const m = marks(list.length);
      // A file_on row per copy, and a row with no devid for a fid that is live.
      const rows = await this.db.all<{ fid: number; devid: number | null }>(
        `SELECT fid, devid FROM file_on WHERE fid IN (${m}) UNION ALL SELECT fid, NULL FROM file WHERE fid IN (${m})`, ...list, ...list);
      for (const r of rows) {
        const state = states.get(Number(r.fid));
        if (!state) continue;
        if (r.devid === null) state.live = true;
        else state.devids.push(Number(r.devid));
      }
    }
    for (const state of states.values()) state.devids.sort((a, b) => a - b);
    return states;
  }

  async jobState(fid: number): Promise<DeleteJobState> {
    return (await this.jobStates([fid])).get(fid) as DeleteJobState;
  }

  /**
   * The copies of these fids (at most MAX_LIST, no repeats) are gone: their
   * file_on rows and jobs go in one transaction, except for a fid that names
   * a file again (checked under the file rows' locks). Resolves to the fids
   * that went. SqlStore.finishDeletedFiles cuts a longer list into these.
   */
  finishDeletedChunk(part: number[]): Promise<number[]> {
    return this.db.tx(async (q) => {
      const list = padList(part);
      const rows = await q.all<{ fid: number }>(`SELECT fid FROM file WHERE fid IN (${marks(list.length)})${this.d.forUpdate}`, ...list);
      const live = new Set(rows.map((r) => Number(r.fid)));
      const dead = part.filter((fid) => !live.has(fid));
      if (dead.length === 0) return dead;
      const deadList = padList(dead);
      await q.run(`DELETE FROM file_on WHERE fid IN (${marks(deadList.length)})`, ...deadList);
      await q.run(`DELETE FROM file_to_delete2 WHERE fid IN (${marks(deadList.length)})`, ...deadList);
      return dead;
    });
  }

  async depths(): Promise<{ replicate: number; delete: number }> {
    const r = await this.db.get<{ n: number }>('SELECT COUNT(*) AS n FROM file_to_replicate');
    const d = await this.db.get<{ n: number }>('SELECT COUNT(*) AS n FROM file_to_delete2');
    return { replicate: Number(r?.n ?? 0), delete: Number(d?.n ?? 0) };
  }
}
