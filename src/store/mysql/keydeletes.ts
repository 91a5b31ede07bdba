/**
 * delete by key, gathered: deletes that come while one is at the server go
 * together as the next group, one transaction sent as one batch, so a
 * burst of deletes (clients deleting in parallel) costs MySQL one START,
 * one queue insert, one multi-table DELETE and one COMMIT per group instead
 * of per key, and the tracker one round trip. A lone delete goes at once,
 * as before: nothing waits on a timer. Each key keeps its own answer (its
 * fid, or null) from a SELECT of its own.
 */
import type { Param } from '../sql/conn';
import type { MysqlDb } from './db';
import type { KeySql } from './keysql';

/** Keys per group at most (its statements grow with it). */
const MAX_GROUP = 32;

interface Waiting {
  dmid: number;
  /** The key as bound (KeySql.tryBind), and as text to tell repeats apart. */
  key: Buffer | string;
  text: string;
  nexttry: number;
  resolve(fid: number | null): void;
  reject(err: unknown): void;
}

export class KeyDeletes {
  private waiting: Waiting[] = [];
  private sending = false;

  constructor(private readonly db: MysqlDb, private readonly fileKey: () => KeySql) {}

  /**
   * Removes the file `dkey` names in `dmid` and queues its fid for the
   * delete worker at `nexttry`: resolves to the fid, or null when there is none.
   */
  delete(dmid: number, dkey: string, nexttry: number): Promise<number | null> {
    const key = this.fileKey().tryBind(dkey);
    if (key === null) return Promise.resolve(null);
    return new Promise((resolve, reject) => {
      this.waiting.push({ dmid, key, text: `${dmid}/${dkey}`, nexttry, resolve, reject });
      if (!this.sending) {
        this.sending = true;
        void this.send();
      }
    });
  }

  private async send(): Promise<void> {
    while (this.waiting.length > 0) {
      const group = this.takeGroup();
      try {
        const found = await deleteGroup(this.db, this.fileKey(), group);
        group.forEach((w, i) => w.resolve(found[i]));
      } catch (err) {
        // One transaction: every key in it fails as a lone delete would.
        for (const w of group) w.reject(err);
      }
    }
    this.sending = false;
  }

  /** The next group: distinct keys (a repeat waits for the next one, where it finds nothing), MAX_GROUP at most. */
  private takeGroup(): Waiting[] {
    const group: Waiting[] = [];
    const rest: Waiting[] = [];
    const seen = new Set<string>();
    for (const w of this.waiting) {
      if (group.length < MAX_GROUP && !seen.has(w.text)) {
        seen.add(w.text);
        group.push(w);
      } else {
        rest.push(w);
      }
    }
    this.waiting = rest;
    return group;
  }
}

/**
 * One transaction: each key's file row locked and read; the fids queued
 * (the earlier nexttry kept, as ../sql's removeFile does); and the files'
 * rows in every table removed by one multi-table DELETE (each join a
 * primary-key lookup). file_on rows stay: the delete worker finds the
 * copies by them.
 */
async function deleteGroup(db: MysqlDb, fileKey: KeySql, group: Waiting[]): Promise<(number | null)[]> {
  const one = `f.dmid = ? AND f.dkey = ${fileKey.param}`;
  const any = group.map(() => `(${one})`).join(' OR ');
  const keyParams = group.flatMap((w): Param[] => [w.dmid, w.key]);
  let sql = 'START TRANSACTION; ';
  const params: Param[] = [];
  for (const w of group) {
    sql += `SELECT f.fid FROM file f WHERE ${one} FOR UPDATE; `;
    params.push(w.dmid, w.key);
  }
  if (group.length === 1) {
    sql += 'INSERT INTO file_to_delete2 (fid, nexttry) SELECT f.fid, ? ';
    params.push(group[0].nexttry);
  } else {
    sql += `INSERT INTO file_to_delete2 (fid, nexttry) SELECT f.fid, CASE ${group.map(() => `WHEN ${one} THEN ?`).join(' ')} END `;
    for (const w of group) params.push(w.dmid, w.key, w.nexttry);
  }
  sql += `FROM file f WHERE ${any} ON DUPLICATE KEY UPDATE nexttry = LEAST(nexttry, VALUES(nexttry)); `;
  params.push(...keyParams);
  sql += `DELETE f, t, c, a, x FROM file f ${['tempfile t', 'checksum c', 'mogfs_file_attr a', 'mogfs_file_xattr x']
    .map((j) => `LEFT JOIN ${j} ON ${j.slice(-1)}.fid = f.fid`).join(' ')} WHERE ${any}; COMMIT`;
  params.push(...keyParams);
  const results = await db.script(sql, params);
  return group.map((_, i) => {
    const row = (results[1 + i] as { fid: number | string }[])[0];
    return row ? Number(row.fid) : null;
  });
}
