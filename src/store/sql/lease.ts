/**
 * The claim step every queue shares (delete, replicate, fsck): inside a
 * transaction, the due rows are selected (FOR UPDATE SKIP LOCKED on MySQL;
 * SQLite's write transaction locks the file) and their nexttry pushed to the
 * lease's end, so no other tracker takes them until it runs out.
 */
import type { Dialect, Param, Q } from './conn';
import { chunks, marks, padList } from './lists';

export interface LeaseQuery {
  table: string;
  cols: string;
  /** An extra condition on the rows (e.g. `type = ?`), with its parameters; '' for none. */
  where: string;
  params: Param[];
}

/** Leases up to `n` (> 0) rows due at `now` until `leaseend`; resolves to them, fid a number. */
export async function leaseDue<T extends { fid: number }>(
  q: Q, d: Dialect, lq: LeaseQuery, now: number, n: number, leaseend: number,
): Promise<T[]> {
  const and = lq.where ? `${lq.where} AND ` : '';
  const rows = (await q.all<T>(
    `SELECT ${lq.cols} FROM ${lq.table} WHERE ${and}nexttry <= ? ORDER BY nexttry, fid LIMIT ?${d.forUpdate}${d.skipLocked}`,
    ...lq.params, now, d.limit(n),
  )).map((j) => ({ ...j, fid: Number(j.fid) }));
  for (const part of chunks(rows.map((j) => j.fid))) {
    const fids = padList(part);
    await q.run(`UPDATE ${lq.table} SET nexttry = ? WHERE ${and}fid IN (${marks(fids.length)})`, leaseend, ...lq.params, ...fids);
  }
  return rows;
}
