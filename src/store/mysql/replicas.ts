/**
 * Read replicas ("slaves") for the MySQL engine, configured as the original
 * MogileFS configures them, in server_settings:
 *   slave_keys   = "a,b"                     (the names of the replicas)
 *   slave_a      = "DSN|user|password"       (DSN: DBI:mysql:database=mogilefs;host=10.0.0.2;port=3306,
 *                                             or our mysql://host:port/db)
 *   slave_version  bumped by set_server_setting on any slave_* change
 * and two settings of ours:
 *   slave_max_lag              seconds a replica may be behind (SHOW SLAVE STATUS
 *                              Seconds_Behind_Master) and still be read, default 2
 *   slave_dead_retry_timeout   seconds a replica that failed is left alone, default 15
 *
 * The master's settings are read again every SETTINGS_TTL_MS (at once on the
 * tracker that changed one); a replica's pool is made on its first use and
 * closed when the list no longer names it. Before a replica is read its
 * status is checked (SHOW SLAVE STATUS, again every CHECK_INTERVAL_MS, in the
 * background): both replication threads running and no more than
 * slave_max_lag behind, or it is not read. A replica that fails a query or a
 * check is skipped for slave_dead_retry_timeout and the query goes to the
 * master, so a replica never costs the client an error.
 *
 * Reads that find nothing on the replica (a key it has not seen yet) are
 * asked of the master again: a client that stores a file and then asks
 * for its paths gets them, whatever the replica's lag.
 */
import { createLogger } from '../../common/log';
import type { Logger } from '../../common/log';
import type { SlaveReads } from '../replicas';
import { MysqlDb } from './db';
import { mysqlUrlFromDbi } from './dbi';

export const SETTINGS_TTL_MS = 5000;
export const CHECK_INTERVAL_MS = 1000;
export const DEFAULT_MAX_LAG_SEC = 2;
export const DEFAULT_DEAD_RETRY_SEC = 15;
/** A replica that does not accept a connection in this time counts as down (the master's pool waits longer). */
const REPLICA_CONNECT_TIMEOUT_MS = 2000;

/** `slave_<key>`'s value as a mysql:// URL: the original's `DSN|user|pass`, or our URL (user and pass optional after it). */
export function replicaUrl(value: string): string {
  const [dsn, user, pass] = value.split('|');
  const d = (dsn ?? '').trim();
  if (/^(mysql|mariadb):\/\//i.test(d)) {
    if (!user) return d;
    const u = new URL(d.replace(/^mariadb:/i, 'mysql:'));
    u.username = encodeURIComponent(user);
    u.password = pass ? encodeURIComponent(pass) : '';
    return u.toString();
  }
  const dbi = mysqlUrlFromDbi(d, user, pass);
  if (!dbi) throw new Error(`replica DSN "${d}" is neither DBI:mysql:... nor mysql://host:port/db`);
  if (!dbi.database) throw new Error(`replica DSN "${d}" names no database (database=NAME)`);
  return dbi.url;
}

interface Replica {
  key: string;
  /** The setting's value, to tell a changed entry from the same one. */
  value: string;
  url: string | null;
  db: MysqlDb | null;
  reads: SlaveReads | null;
  deadUntil: number;
  /** Result of the last status check: usable or not, and why. */
  ok: boolean;
  why: string;
  checkedAt: number;
  checking: Promise<void> | null;
  /** Queries answered (tests and `!stats`-like diagnostics). */
  served: number;
}

export interface ReplicaStatus {
  key: string;
  ok: boolean;
  why: string;
  served: number;
}

export class MysqlReplicas {
  private replicas: Replica[] = [];
  private loadedAt = 0;
  private loading: Promise<void> | null = null;
  private version: string | null = null;
  private maxLagSec = DEFAULT_MAX_LAG_SEC;
  private deadRetrySec = DEFAULT_DEAD_RETRY_SEC;
  private next = 0;
  private logger: Logger | null = null;
  private closed = false;
  /** Reads the master answered because no replica was usable (diagnostics, tests). */
  masterReads = 0;

  constructor(
    private readonly master: MysqlDb,
    private readonly masterReadsOn: SlaveReads,
    private readonly readsOn: (db: MysqlDb) => SlaveReads,
  ) {}

  private get log(): Logger {
    this.logger ??= createLogger('mogfs-replicas');
    return this.logger;
  }

  /** The slave settings changed (set through this tracker): read them again before the next read. */
  invalidate(): void {
    this.loadedAt = 0;
  }

  status(): ReplicaStatus[] {
    return this.replicas.map((r) => ({ key: r.key, ok: r.ok && r.deadUntil <= Date.now(), why: r.why, served: r.served }));
  }

  /**
   * What slavesOk(store) answers: `reads` while replicas are configured (or
   * the list is not loaded yet), else undefined, so with no replica (the
   * common case) a read goes straight to the store and costs nothing extra;
   * the list is still read again every SETTINGS_TTL_MS, in the background.
   */
  active(): SlaveReads | undefined {
    if (this.closed) return undefined;
    if (this.loadedAt === 0 || this.replicas.length > 0) return this.reads;
    if (Date.now() - this.loadedAt > SETTINGS_TTL_MS) void this.reload();
    return undefined;
  }

  /** The SlaveReads every command uses: each method on a usable replica, else on the master. */
  readonly reads: SlaveReads = {
    getFileByKey: (dmid, dkey) => this.read((s) => s.getFileByKey(dmid, dkey), (v) => v !== null),
    getFileWithDevids: (dmid, dkey) => this.read((s) => s.getFileWithDevids(dmid, dkey), (v) => v !== null),
    fileDevids: (fid) => this.read((s) => s.fileDevids(fid), (v) => v.length > 0),
    listKeys: (dmid, prefix, after, limit) => this.read((s) => s.listKeys(dmid, prefix, after, limit)),
    listDirectory: (dmid, prefix, delimiter, after, limit) => this.read((s) => s.listDirectory(dmid, prefix, delimiter, after, limit)),
    getFilesWithAttrs: (dmid, keys) => this.read((s) => s.getFilesWithAttrs(dmid, keys), (v) => keys.length === 0 || v.length > 0),
  };

  /**
   * Runs `fn` on a usable replica, else on the master. A replica's error
   * marks it dead and the master answers; `found` false (the replica has not
   * seen a row yet) asks the master too.
   */
  private async read<T>(fn: (s: SlaveReads) => Promise<T>, found?: (v: T) => boolean): Promise<T> {
    const r = await this.pick();
    if (!r || !r.reads) {
      if (this.replicas.length > 0) this.masterReads++;
      return fn(this.masterReadsOn);
    }
    let v: T;
    try {
      v = await fn(r.reads);
    } catch (err) {
      this.markDead(r, `query failed: ${(err as Error).message}`);
      this.masterReads++;
      return fn(this.masterReadsOn);
    }
    r.served++;
    if (found && !found(v)) return fn(this.masterReadsOn);
    return v;
  }

  private async pick(): Promise<Replica | null> {
    if (this.closed) return null;
    if (Date.now() - this.loadedAt > SETTINGS_TTL_MS) {
      // The first load is awaited; later ones run beside the reads that use the current list.
      const loading = this.reload();
      if (this.loadedAt === 0) await loading;
    }
    const n = this.replicas.length;
    for (let i = 0; i < n; i++) {
      const r = this.replicas[(this.next + i) % n];
      if (!r.url || r.deadUntil > Date.now()) continue;
      if (Date.now() - r.checkedAt > CHECK_INTERVAL_MS) {
        const checking = this.check(r);
        // Never read a replica before its first check.
        if (r.checkedAt === 0) await checking;
      }
      if (r.ok && r.deadUntil <= Date.now()) {
        this.next = (this.next + i + 1) % n;
        return r;
      }
    }
    return null;
  }

  private reload(): Promise<void> {
    this.loading ??= this.load().finally(() => { this.loading = null; });
    return this.loading;
  }

  private async load(): Promise<void> {
    let rows: Array<{ field: string; value: string | null }>;
    try {
      rows = await this.master.all<{ field: string; value: string | null }>(
        "SELECT field, value FROM server_settings WHERE field LIKE 'slave%'");
    } catch {
      // The master is unreachable: keep the list we have, try again on a later read.
      this.loadedAt = Date.now() - SETTINGS_TTL_MS + 1000;
      return;
    }
    this.loadedAt = Date.now();
    const s = new Map(rows.map((r) => [r.field, r.value ?? '']));
    this.maxLagSec = numberSetting(s.get('slave_max_lag'), DEFAULT_MAX_LAG_SEC);
    this.deadRetrySec = numberSetting(s.get('slave_dead_retry_timeout'), DEFAULT_DEAD_RETRY_SEC);
    // MogileFS::Admin writes `key=weight` for a weight other than 1; we read every replica alike.
    const keys = (s.get('slave_keys') ?? '').split(',').map((k) => k.replace(/=.*$/, '').trim()).filter((k) => k !== '');
    const wanted = keys.map((key) => ({ key, value: s.get(`slave_${key}`) ?? '' }));
    const version = s.get('slave_version') ?? '';
    const same = version === this.version && wanted.length === this.replicas.length
      && wanted.every((w, i) => w.key === this.replicas[i].key && w.value === this.replicas[i].value);
    if (same) return;
    this.version = version;
    const old = this.replicas;
    this.replicas = wanted.map((w) => {
      const kept = old.find((r) => r.key === w.key && r.value === w.value);
      if (kept) return kept;
      let url: string | null = null;
      let why = 'not checked yet';
      try {
        url = replicaUrl(w.value);
      } catch (err) {
        why = (err as Error).message;
        this.log.warn({ slave: w.key }, `replica slave_${w.key} is not usable: ${why}`);
      }
      return { key: w.key, value: w.value, url, db: null, reads: null, deadUntil: 0, ok: false, why, checkedAt: 0, checking: null, served: 0 };
    });
    for (const r of old) {
      if (!this.replicas.includes(r)) void r.db?.close().catch(() => undefined);
    }
    this.log.info({ slaves: this.replicas.map((r) => r.key), version }, 'read replica list loaded');
  }

  private check(r: Replica): Promise<void> {
    r.checking ??= this.checkNow(r).finally(() => { r.checking = null; });
    return r.checking;
  }

  private async checkNow(r: Replica): Promise<void> {
    try {
      if (!r.db) {
        const u = new URL(r.url as string);
        if (!u.searchParams.has('connectTimeout')) u.searchParams.set('connectTimeout', String(REPLICA_CONNECT_TIMEOUT_MS));
        r.db = new MysqlDb(u.toString());
        r.reads = this.readsOn(r.db);
      }
      const [rows] = await r.db.pool.query('SHOW SLAVE STATUS');
      const st = (rows as Array<Record<string, unknown>>)[0];
      r.checkedAt = Date.now();
      const wasOk = r.ok;
      if (!st) {
        // Not a replica (a proxy, a Galera node): nothing tells its lag, so it is trusted.
        r.ok = true;
        r.why = 'no replication status (not a replica): read without a lag check';
      } else {
        const lag = st.Seconds_Behind_Master;
        if (st.Slave_IO_Running !== 'Yes' || st.Slave_SQL_Running !== 'Yes' || lag === null || lag === undefined) {
          r.ok = false;
          r.why = `replication not running (IO ${String(st.Slave_IO_Running)}, SQL ${String(st.Slave_SQL_Running)})`;
        } else if (Number(lag) > this.maxLagSec) {
          r.ok = false;
          r.why = `${String(lag)} s behind the master (slave_max_lag ${this.maxLagSec})`;
        } else {
          r.ok = true;
          r.why = `${String(lag)} s behind the master`;
        }
      }
      if (r.ok !== wasOk) {
        if (r.ok) this.log.info({ slave: r.key }, `replica slave_${r.key} is read again: ${r.why}`);
        else this.log.warn({ slave: r.key }, `replica slave_${r.key} is not read, the master answers: ${r.why}`);
      }
    } catch (err) {
      const e = err as { errno?: number; message?: string };
      if (e.errno === 1227) {
        // No REPLICATION CLIENT (SLAVE MONITOR) privilege: lag cannot be seen; read it as the original does.
        r.checkedAt = Date.now();
        if (!r.ok) this.log.warn({ slave: r.key }, `replica slave_${r.key}: cannot see its lag (${e.message}); grant its user REPLICATION CLIENT (MariaDB 10.5+: SLAVE MONITOR) so a lagging replica is skipped`);
        r.ok = true;
        r.why = 'lag unknown (no privilege for SHOW SLAVE STATUS)';
        return;
      }
      this.markDead(r, `status check failed: ${e.message ?? String(err)}`);
    }
  }

  private markDead(r: Replica, why: string): void {
    const wasUsable = r.ok && r.deadUntil <= Date.now();
    r.ok = false;
    r.why = why;
    r.checkedAt = Date.now();
    r.deadUntil = Date.now() + this.deadRetrySec * 1000;
    if (wasUsable || r.served === 0) this.log.warn({ slave: r.key, retryInSec: this.deadRetrySec }, `replica slave_${r.key} skipped, the master answers: ${why}`);
  }

  async close(): Promise<void> {
    this.closed = true;
    const dbs = this.replicas.map((r) => r.db).filter((d): d is MysqlDb => d !== null);
    this.replicas = [];
    await Promise.all(dbs.map((d) => d.close().catch(() => undefined)));
  }
}

function numberSetting(v: string | undefined, dflt: number): number {
  if (v === undefined || v.trim() === '') return dflt;
  const n = Number(v);
  return Number.isFinite(n) && n >= 0 ? n : dflt;
}
