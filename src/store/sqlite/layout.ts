/**
 * Domains, classes, hosts, devices and server settings on SQLite: the rows
 * that describe the cluster rather than the files in it.
 */
import { MogError } from '../../protocol';
import type { ClassRow, DevicePatch, DeviceRow, DomainRow, DomainUsage, HostPatch, HostRow } from '../types';
import { isUniqueViolation, SqliteDb } from './db';

const HOST_COLS = ['status', 'http_port', 'http_get_port', 'hostname', 'hostip', 'altip', 'altmask'] as const;
const DEVICE_COLS = ['hostid', 'status', 'weight', 'mb_total', 'mb_used', 'mb_asof'] as const;

export class SqliteLayout {
  constructor(private readonly db: SqliteDb) {}

  listDomains(): DomainRow[] {
    return this.db.all<DomainRow>('SELECT dmid, namespace FROM domain ORDER BY dmid');
  }

  createDomain(namespace: string): DomainRow {
    return this.db.tx(() => {
      if (this.db.get('SELECT 1 FROM domain WHERE namespace = ?', namespace)) {
        throw new MogError('domain_exists', `domain "${namespace}" already exists`);
      }
      const max = this.db.get<{ m: number | null }>('SELECT MAX(dmid) AS m FROM domain')?.m ?? 0;
      const dmid = max + 1;
      if (dmid > 65535) throw new MogError('failure', 'no domain id left (the schema allows 65535 domains)');
      this.db.run('INSERT INTO domain (dmid, namespace) VALUES (?, ?)', dmid, namespace);
      return { dmid, namespace };
    });
  }

  deleteDomain(dmid: number): void {
    this.db.run('DELETE FROM domain WHERE dmid = ?', dmid);
  }

  domainHasFiles(dmid: number): boolean {
    return !!this.db.get('SELECT fid FROM file WHERE dmid = ? LIMIT 1', dmid);
  }

  domainUsage(): DomainUsage[] {
    return this.db.all<DomainUsage>('SELECT dmid, COUNT(*) AS files, COALESCE(SUM(length), 0) AS bytes FROM file GROUP BY dmid ORDER BY dmid');
  }

  listClasses(): ClassRow[] {
    return this.db.all<ClassRow>(
      'SELECT dmid, classid, classname, mindevcount, replpolicy, hashtype FROM class ORDER BY dmid, classid',
    );
  }

  createClass(c: Omit<ClassRow, 'classid'>): ClassRow {
    return this.db.tx(() => {
      if (this.db.get('SELECT 1 FROM class WHERE dmid = ? AND classname = ?', c.dmid, c.classname)) {
        throw new MogError('class_exists', `class "${c.classname}" already exists in this domain`);
      }
      let classid = 0;
      if (c.classname !== 'default') {
        const max = this.db.get<{ m: number | null }>('SELECT MAX(classid) AS m FROM class WHERE dmid = ?', c.dmid)?.m;
        classid = (max ?? 0) + 1;
        if (classid > 255) throw new MogError('failure', 'no class id left in this domain (the schema allows 255)');
      }
      this.db.run(
        'INSERT INTO class (dmid, classid, classname, mindevcount, replpolicy, hashtype) VALUES (?, ?, ?, ?, ?, ?)',
        c.dmid, classid, c.classname, c.mindevcount, c.replpolicy, c.hashtype,
      );
      return { ...c, classid };
    });
  }

  updateClass(c: ClassRow): void {
    try {
      this.db.run(
        'UPDATE class SET classname = ?, mindevcount = ?, replpolicy = ?, hashtype = ? WHERE dmid = ? AND classid = ?',
        c.classname, c.mindevcount, c.replpolicy, c.hashtype, c.dmid, c.classid,
      );
    } catch (e) {
      if (isUniqueViolation(e)) throw new MogError('class_exists', `class "${c.classname}" already exists in this domain`);
      throw e;
    }
  }

  deleteClass(dmid: number, classid: number): void {
    this.db.run('DELETE FROM class WHERE dmid = ? AND classid = ?', dmid, classid);
  }

  classHasFiles(dmid: number, classid: number): boolean {
    return !!this.db.get('SELECT fid FROM file WHERE dmid = ? AND classid = ? LIMIT 1', dmid, classid);
  }

  listHosts(): HostRow[] {
    return this.db.all<HostRow>(
      'SELECT hostid, status, http_port, http_get_port, hostname, hostip, altip, altmask FROM host ORDER BY hostid',
    );
  }

  createHost(h: Omit<HostRow, 'hostid'> & { hostid?: number }): HostRow {
    return this.db.tx(() => {
      this.checkHostUnique(h.hostname, h.hostip, null);
      let hostid = h.hostid;
      if (!hostid) hostid = (this.db.get<{ m: number | null }>('SELECT MAX(hostid) AS m FROM host')?.m ?? 0) + 1;
      else if (this.db.get('SELECT 1 FROM host WHERE hostid = ?', hostid)) {
        throw new MogError('host_exists', `host id ${hostid} is already registered`);
      }
      const row: HostRow = {
        hostid, status: h.status, http_port: h.http_port, http_get_port: h.http_get_port ?? null,
        hostname: h.hostname, hostip: h.hostip, altip: h.altip ?? null, altmask: h.altmask ?? null,
      };
      this.db.run(
        `INSERT INTO host (hostid, status, http_port, http_get_port, hostname, hostip, altip, altmask)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
        row.hostid, row.status, row.http_port, row.http_get_port, row.hostname, row.hostip, row.altip, row.altmask,
      );
      return row;
    });
  }

  updateHost(hostid: number, patch: HostPatch): void {
    const cols = HOST_COLS.filter((c) => patch[c] !== undefined);
    if (cols.length === 0) return;
    this.db.tx(() => {
      this.checkHostUnique(patch.hostname, patch.hostip, hostid);
      this.db.run(
        `UPDATE host SET ${cols.map((c) => `${c} = ?`).join(', ')} WHERE hostid = ?`,
        ...cols.map((c) => patch[c]), hostid,
      );
    });
  }

  private checkHostUnique(hostname: string | undefined, hostip: string | undefined, self: number | null): void {
    if (hostname !== undefined) {
      const r = this.db.get<{ hostid: number }>('SELECT hostid FROM host WHERE hostname = ?', hostname);
      if (r && r.hostid !== self) throw new MogError('host_exists', `a host named "${hostname}" is already registered`);
    }
    if (hostip !== undefined) {
      const r = this.db.get<{ hostid: number }>('SELECT hostid FROM host WHERE hostip = ?', hostip);
      if (r && r.hostid !== self) {
        throw new MogError('ip_exists', `another host already has IP ${hostip}; each host needs its own IP`);
      }
    }
  }

  deleteHost(hostid: number): void {
    this.db.run('DELETE FROM host WHERE hostid = ?', hostid);
  }

  listDevices(): DeviceRow[] {
    return this.db.all<DeviceRow>(
      'SELECT devid, hostid, status, weight, mb_total, mb_used, mb_asof FROM device ORDER BY devid',
    );
  }

  createDevice(d: Pick<DeviceRow, 'devid' | 'hostid' | 'status'> & Partial<DeviceRow>): DeviceRow {
    return this.db.tx(() => {
      let devid = d.devid;
      if (!devid) devid = (this.db.get<{ m: number | null }>('SELECT MAX(devid) AS m FROM device')?.m ?? 0) + 1;
      else if (this.db.get('SELECT 1 FROM device WHERE devid = ?', devid)) {
        throw new MogError('existing_devid', `device id ${devid} is already registered`);
      }
      const row: DeviceRow = {
        devid, hostid: d.hostid, status: d.status, weight: d.weight ?? 100,
        mb_total: d.mb_total ?? null, mb_used: d.mb_used ?? null, mb_asof: d.mb_asof ?? null,
      };
      this.db.run(
        'INSERT INTO device (devid, hostid, status, weight, mb_total, mb_used, mb_asof) VALUES (?, ?, ?, ?, ?, ?, ?)',
        row.devid, row.hostid, row.status, row.weight, row.mb_total, row.mb_used, row.mb_asof,
      );
      return row;
    });
  }

  updateDevice(devid: number, patch: DevicePatch): void {
    const cols = DEVICE_COLS.filter((c) => patch[c] !== undefined);
    if (cols.length === 0) return;
    this.db.run(
      `UPDATE device SET ${cols.map((c) => `${c} = ?`).join(', ')} WHERE devid = ?`,
      ...cols.map((c) => patch[c]), devid,
    );
  }

  getSettings(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const r of this.db.all<{ field: string; value: string | null }>('SELECT field, value FROM server_settings')) {
      out[r.field] = r.value ?? '';
    }
    return out;
  }

  setSetting(field: string, value: string): void {
    this.db.run('INSERT OR REPLACE INTO server_settings (field, value) VALUES (?, ?)', field, value);
  }
}
