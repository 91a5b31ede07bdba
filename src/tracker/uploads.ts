/**
 * The uploads this tracker opened (create_open's tempfile rows), kept in
 * memory so the create_close that follows on the same connection, as stock
 * clients send it, need not read its row back from the database: one round
 * trip less per stored file. Only a hint: a tempfile row never changes
 * while it exists, and create_close's commit deletes it under the
 * transaction and refuses (no_temp_file) when it is gone, so a row that
 * expired, or that another tracker closed, is never trusted for anything
 * that writes without the database's word.
 */
import type { TempfileRow } from '../store';

/** Uploads remembered at most; the oldest are forgotten first (their close then reads the database). */
const MAX_OPEN = 10_000;

export class OpenUploads {
  private readonly rows = new Map<number, TempfileRow>();

  constructor(private readonly max = MAX_OPEN) {}

  remember(row: TempfileRow): void {
    this.rows.delete(row.fid);
    this.rows.set(row.fid, row);
    if (this.rows.size > this.max) {
      const oldest = this.rows.keys().next();
      if (!oldest.done) this.rows.delete(oldest.value);
    }
  }

  /** The row create_open wrote for `fid`, forgotten as it is handed out; undefined when this tracker does not know it. */
  take(fid: number): TempfileRow | undefined {
    const row = this.rows.get(fid);
    this.rows.delete(fid);
    return row;
  }
}
