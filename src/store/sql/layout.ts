/**
 * Domains, classes, hosts, devices and server settings: the rows that
 * describe the cluster rather than the files in it. Ids are max+1 as the
 * original allocates them, inside a serialized section so trackers sharing
 * the database never race for one.
 */
import { MogError } from '../../protocol';
import type { ClassRow, DevicePatch, DeviceRow, DomainRow, DomainUsage, HostPatch, HostRow } from '../types';
import type { Param, Q, SqlDb } from './conn';

const HOST_COLS = ['status', 'http_port', 'http_get_port', 'hostname', 'hostip', 'altip', 'altmask'] as const;
const DEVICE_COLS = ['hostid', 'status', 'weight', 'mb_total', 'mb_used', 'mb_asof'] as const;

/**
 * An UPDATE of the columns a patch sets, as one statement text whatever it
 * sets (each column `CASE WHEN given THEN value ELSE column END`), so patches
 * do not each prepare a statement of their own.
 */
function patchUpdate<C extends string>(
  table: string, cols: readonly C[], idCol: string, patch: Partial<Record<C, unknown>>,
): { sql: string; params: Param[] } {
  return {
    sql: `UPDATE ${table} SET ${cols.map((c) => `${c} = CASE WHEN ? THEN ? ELSE ${c} END`).join(', ')} WHERE ${idCol} = ?`,
    params: cols.flatMap((c) => [patch[c] !== undefined ? 1 : 0, (patch[c] ?? null) as Param]),
  };
}

async function maxId(q: Q, sql: string, ...params: Param[]): Promise<number> {
  return Number((await q.get<{ m: number | null }>(sql, ...params))?.m ?? 0);
}

export class Layout {
  constructor(private readonly db: SqlDb) {}

  /** Inserts with id = max+1, one allocation at a time across every tracker on the database. */
  private insertNextId(table: string, alloc: (q: Q) => Promise<number>, insert: (q: Q, id: number) => Promise<void>): Promise<number> {
    return this.db.serialized(`alloc:${table}`, async (q) => {
      const id = await alloc(q);
      await insert(q, id);
      return id;
    });
  }

  listDomains(): Promise<DomainRow[]> {
    return this.db.all<DomainRow>('SELECT dmid, namespace FROM domain ORDER BY dmid');
  }

  async createDomain(namespace: string): Promise<DomainRow> {
    const exists = (): MogError => new MogError('domain_exists', `domain "${namespace}" already exists`);
    if (await this.db.get('SELECT 1 FROM domain WHERE namespace = ?', namespace)) throw exists();
    try {
      const dmid = await this.insertNextId('domain',
        (q) => maxId(q, 'SELECT MAX(dmid) AS m FROM domain').then((m) => m + 1),
        async (q, id) => {
          if (id > 65535) throw new MogError('failure', 'no domain id left (the schema allows 65535 domains)');
          await q.run('INSERT INTO domain (dmid, namespace) VALUES (?, ?)', id, namespace);
        },
      );
      return { dmid, namespace };
    } catch (e) {
      if (this.db.dialect.isDuplicate(e)) throw exists();
      throw e;
    }
  }

  async deleteDomain(dmid: number): Promise<void> {
    await this.db.run('DELETE FROM domain WHERE dmid = ?', dmid);
  }

  async domainHasFiles(dmid: number): Promise<boolean> {
    return !!(await this.db.get('SELECT fid FROM file WHERE dmid = ? LIMIT 1', dmid));
  }

  async domainUsage(): Promise<DomainUsage[]> {
    const rows = await this.db.all<{ dmid: number; files: number | string; bytes: number | string }>(
      'SELECT dmid, COUNT(*) AS files, COALESCE(SUM(length), 0) AS bytes FROM file GROUP BY dmid ORDER BY dmid',
    );
    // COUNT and SUM come back as strings from mysql2 (BIGINT / DECIMAL).
    return rows.map((r) => ({ dmid: Number(r.dmid), files: Number(r.files), bytes: Number(r.bytes) }));
  }

  listClasses(): Promise<ClassRow[]> {
    return this.db.all<ClassRow>(
      'SELECT dmid, classid, classname, mindevcount, replpolicy, hashtype FROM class ORDER BY dmid, classid',
    );
  }

  /** classid max+1 in the domain; a class named 'default' is classid 0, as the original stores it. */
  async createClass(c: Omit<ClassRow, 'classid'>): Promise<ClassRow> {
    const exists = (): MogError => new MogError('class_exists', `class "${c.classname}" already exists in this domain`);
    if (await this.db.get('SELECT 1 FROM class WHERE dmid = ? AND classname = ?', c.dmid, c.classname)) throw exists();
    try {
      const classid = await this.insertNextId('class',
        async (q) => (c.classname === 'default' ? 0 : (await maxId(q, 'SELECT MAX(classid) AS m FROM class WHERE dmid = ?', c.dmid)) + 1),
        async (q, id) => {
          if (id > 255) throw new MogError('failure', 'no class id left in this domain (the schema allows 255)');
          await q.run(
            'INSERT INTO class (dmid, classid, classname, mindevcount, replpolicy, hashtype) VALUES (?, ?, ?, ?, ?, ?)',
            c.dmid, id, c.classname, c.mindevcount, c.replpolicy, c.hashtype,
          );
        },
      );
      return { ...c, classid };
    } catch (e) {
      if (this.db.dialect.isDuplicate(e)) throw exists();
      throw e;
    }
  }

  async updateClass(c: ClassRow): Promise<void> {
    try {
      await this.db.run(
        'UPDATE class SET classname = ?, mindevcount = ?, replpolicy = ?, hashtype = ? WHERE dmid = ? AND classid = ?',
        c.classname, c.mindevcount, c.replpolicy, c.hashtype, c.dmid, c.classid,
      );
    } catch (e) {
      if (this.db.dialect.isDuplicate(e)) throw new MogError('class_exists', `class "${c.classname}" already exists in this domain`);
      throw e;
    }
  }

  async deleteClass(dmid: number, classid: number): Promise<void> {
    await this.db.run('DELETE FROM class WHERE dmid = ? AND classid = ?', dmid, classid);
  }

  async classHasFiles(dmid: number, classid: number): Promise<boolean> {
    return !!(await this.db.get('SELECT fid FROM file WHERE dmid = ? AND classid = ? LIMIT 1', dmid, classid));
  }

  listHosts(): Promise<HostRow[]> {
    return this.db.all<HostRow>(
      'SELECT hostid, status, http_port, http_get_port, hostname, hostip, altip, altmask FROM host ORDER BY hostid',
    );
  }

  async createHost(h: Omit<HostRow, 'hostid'> & { hostid?: number }): Promise<HostRow> {
    await this.checkHostUnique(h.hostname, h.hostip, null);
    const row: HostRow = {
      hostid: 0, status: h.status, http_port: h.http_port, http_get_port: h.http_get_port ?? null,
      hostname: h.hostname, hostip: h.hostip, altip: h.altip ?? null, altmask: h.altmask ?? null,
    };
    const insert = async (q: Q, id: number): Promise<void> => {
      await q.run(
        `INSERT INTO host (hostid, status, http_port, http_get_port, hostname, hostip, altip, altmask)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
        id, row.status, row.http_port, row.http_get_port, row.hostname, row.hostip, row.altip, row.altmask,
      );
    };
    try {
      if (h.hostid) {
        await insert(this.db, h.hostid);
        row.hostid = h.hostid;
      } else {
        row.hostid = await this.insertNextId('host', (q) => maxId(q, 'SELECT MAX(hostid) AS m FROM host').then((m) => m + 1), insert);
      }
    } catch (e) {
      if (this.db.dialect.isDuplicatePrimary(e)) throw new MogError('host_exists', `host id ${h.hostid} is already registered`);
      if (this.db.dialect.isDuplicate(e)) await this.checkHostUnique(h.hostname, h.hostip, null);
      throw e;
    }
    return row;
  }

  async updateHost(hostid: number, patch: HostPatch): Promise<void> {
    if (!HOST_COLS.some((c) => patch[c] !== undefined)) return;
    await this.checkHostUnique(patch.hostname, patch.hostip, hostid);
    try {
      const u = patchUpdate('host', HOST_COLS, 'hostid', patch);
      await this.db.run(u.sql, ...u.params, hostid);
    } catch (e) {
      if (this.db.dialect.isDuplicate(e)) await this.checkHostUnique(patch.hostname, patch.hostip, hostid);
      throw e;
    }
  }

  private async checkHostUnique(hostname: string | undefined, hostip: string | undefined, self: number | null): Promise<void> {
    if (hostname !== undefined) {
      const r = await this.db.get<{ hostid: number }>('SELECT hostid FROM host WHERE hostname = ?', hostname);
      if (r && r.hostid !== self) throw new MogError('host_exists', `a host named "${hostname}" is already registered`);
    }
    if (hostip !== undefined) {
      const r = await this.db.get<{ hostid: number }>('SELECT hostid FROM host WHERE hostip = ?', hostip);
      if (r && r.hostid !== self) {
        throw new MogError('ip_exists', `another host already has IP ${hostip}; each host needs its own IP`);
      }
    }
  }

  async deleteHost(hostid: number): Promise<void> {
    await this.db.run('DELETE FROM host WHERE hostid = ?', hostid);
  }

  listDevices(): Promise<DeviceRow[]> {
    return this.db.all<DeviceRow>('SELECT devid, hostid, status, weight, mb_total, mb_used, mb_asof FROM device ORDER BY devid');
  }

  async createDevice(d: Pick<DeviceRow, 'devid' | 'hostid' | 'status'> & Partial<DeviceRow>): Promise<DeviceRow> {
    const row: DeviceRow = {
      devid: d.devid, hostid: d.hostid, status: d.status, weight: d.weight ?? 100,
      mb_total: d.mb_total ?? null, mb_used: d.mb_used ?? null, mb_asof: d.mb_asof ?? null,
    };
    const insert = async (q: Q, id: number): Promise<void> => {
      await q.run(
        'INSERT INTO device (devid, hostid, status, weight, mb_total, mb_used, mb_asof) VALUES (?, ?, ?, ?, ?, ?, ?)',
        id, row.hostid, row.status, row.weight, row.mb_total, row.mb_used, row.mb_asof,
      );
    };
    try {
      if (d.devid) await insert(this.db, d.devid);
      else row.devid = await this.insertNextId('device', (q) => maxId(q, 'SELECT MAX(devid) AS m FROM device').then((m) => m + 1), insert);
    } catch (e) {
      if (this.db.dialect.isDuplicate(e)) throw new MogError('existing_devid', `device id ${d.devid} is already registered`);
      throw e;
    }
    return row;
  }

  async updateDevice(devid: number, patch: DevicePatch): Promise<void> {
    if (!DEVICE_COLS.some((c) => patch[c] !== undefined)) return;
    const u = patchUpdate('device', DEVICE_COLS, 'devid', patch);
    await this.db.run(u.sql, ...u.params, devid);
  }

  async getSettings(): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    for (const r of await this.db.all<{ field: string; value: string | null }>('SELECT field, value FROM server_settings')) {
      out[r.field] = r.value ?? '';
    }
    return out;
  }

  async setSetting(field: string, value: string): Promise<void> {
    await this.db.run(`${this.db.dialect.replace} INTO server_settings (field, value) VALUES (?, ?)`, field, value);
  }
}
