/**
 * MogileFSAdmin: what mogadm does through the tracker — domains, classes,
 * hosts, devices, server settings, fsck and rebalance — with replies parsed
 * from the numbered fields (domainN..., hostN_..., devN_...) as
 * MogileFS::Admin parses them, but typed.
 */
import type { Args } from '../protocol';
import { TrackerClient } from './tracker';
import type { CallArgs } from './tracker';
import { listFids } from './files';
import type { FidInfo } from './types';

export interface ClassInfo {
  name: string;
  mindevcount: number;
  /** '' means the default policy, MultipleHosts(). */
  replpolicy: string;
  /** 'NONE' or e.g. 'MD5'; '' from trackers that predate checksums. */
  hashtype: string;
}

export interface DomainInfo {
  name: string;
  classes: ClassInfo[];
}

export interface HostInfo {
  hostid: number;
  status: string;
  hostname: string;
  hostip: string;
  http_port: number;
  http_get_port: number | null;
  altip: string | null;
  altmask: string | null;
}

export interface DeviceInfo {
  devid: number;
  hostid: number;
  status: string;
  /** What the monitor saw: 'writeable', 'readable', 'unreachable', or null before its first round. */
  observed_state: string | null;
  mb_total: number;
  mb_used: number;
  mb_asof: number | null;
  weight: number;
  utilization: number | null;
}

export interface ClassOptions {
  mindevcount: number;
  /** e.g. 'MultipleHosts(3)'; omitted keeps the current one. */
  replpolicy?: string;
  /** 'MD5' or 'NONE'; omitted keeps the current one. */
  hashtype?: string;
}

export interface HostOptions {
  ip?: string;
  port?: number;
  getport?: number;
  altip?: string;
  altmask?: string;
  status?: string;
}

export class MogileFSAdmin {
  readonly tracker: TrackerClient;
  private readonly ownsTracker: boolean;

  constructor(opts: { trackers?: string[]; tracker?: TrackerClient; timeoutMs?: number }) {
    this.ownsTracker = !opts.tracker;
    this.tracker = opts.tracker ?? new TrackerClient({ trackers: opts.trackers ?? [], timeoutMs: opts.timeoutMs });
  }

  async getDomains(): Promise<DomainInfo[]> {
    const r = await this.tracker.call('get_domains');
    const out: DomainInfo[] = [];
    for (let i = 1; i <= num(r.domains); i++) {
      const classes: ClassInfo[] = [];
      for (let c = 1; c <= num(r[`domain${i}classes`]); c++) {
        const p = `domain${i}class${c}`;
        classes.push({
          name: r[`${p}name`],
          mindevcount: num(r[`${p}mindevcount`]),
          replpolicy: r[`${p}replpolicy`] ?? '',
          hashtype: r[`${p}hashtype`] ?? '',
        });
      }
      out.push({ name: r[`domain${i}`], classes });
    }
    return out;
  }

  async createDomain(domain: string): Promise<void> {
    await this.tracker.call('create_domain', { domain });
  }

  async deleteDomain(domain: string): Promise<void> {
    await this.tracker.call('delete_domain', { domain });
  }

  async createClass(domain: string, cls: string, opts: ClassOptions): Promise<void> {
    await this.tracker.call('create_class', classArgs(domain, cls, opts));
  }

  async updateClass(domain: string, cls: string, opts: ClassOptions): Promise<void> {
    await this.tracker.call('update_class', classArgs(domain, cls, opts));
  }

  async deleteClass(domain: string, cls: string): Promise<void> {
    await this.tracker.call('delete_class', { domain, class: cls });
  }

  async getHosts(hostid?: number): Promise<HostInfo[]> {
    const r = await this.tracker.call('get_hosts', { hostid });
    const out: HostInfo[] = [];
    for (let i = 1; i <= num(r.hosts); i++) {
      const f = (k: string): string | undefined => r[`host${i}_${k}`];
      out.push({
        hostid: num(f('hostid')),
        status: f('status') ?? '',
        hostname: f('hostname') ?? '',
        hostip: f('hostip') ?? '',
        http_port: num(f('http_port')),
        http_get_port: optNum(f('http_get_port')),
        altip: optStr(f('altip')),
        altmask: optStr(f('altmask')),
      });
    }
    return out;
  }

  /** Register a storage host; resolves with its hostid. */
  async createHost(host: string, opts: HostOptions & { ip: string; port: number }): Promise<number> {
    const r = await this.tracker.call('create_host', hostArgs(host, opts));
    return this.hostidFrom(r, host);
  }

  async updateHost(host: string, opts: HostOptions): Promise<number> {
    const r = await this.tracker.call('update_host', hostArgs(host, opts));
    return this.hostidFrom(r, host);
  }

  async deleteHost(host: string): Promise<void> {
    await this.tracker.call('delete_host', { host });
  }

  async getDevices(devid?: number): Promise<DeviceInfo[]> {
    const r = await this.tracker.call('get_devices', { devid });
    const out: DeviceInfo[] = [];
    for (let i = 1; i <= num(r.devices); i++) {
      const f = (k: string): string | undefined => r[`dev${i}_${k}`];
      out.push({
        devid: num(f('devid')),
        hostid: num(f('hostid')),
        status: f('status') ?? '',
        observed_state: optStr(f('observed_state')),
        // Admin.pm adds 0 to these: absent counts as 0.
        mb_total: num(f('mb_total')),
        mb_used: num(f('mb_used')),
        mb_asof: optNum(f('mb_asof')),
        weight: num(f('weight')),
        utilization: optNum(f('utilization')),
      });
    }
    return out;
  }

  /** Add a device to a host, named by hostname or hostid; `state` defaults to alive on the tracker. */
  async createDevice(opts: { devid: number; hostname?: string; hostid?: number; state?: string }): Promise<void> {
    await this.tracker.call('create_device', { devid: opts.devid, hostname: opts.hostname, hostid: opts.hostid, state: opts.state });
  }

  /** Mark a device alive, down, readonly, drain or dead (mogadm device mark). */
  async setState(host: string, devid: number, state: string): Promise<void> {
    await this.tracker.call('set_state', { host, device: devid, state });
  }

  async setWeight(host: string, devid: number, weight: number): Promise<void> {
    await this.tracker.call('set_weight', { host, device: devid, weight });
  }

  async serverSettings(): Promise<Record<string, string>> {
    const r = await this.tracker.call('server_settings');
    const out: Record<string, string> = {};
    for (let i = 1; i <= num(r.key_count); i++) out[r[`key_${i}`]] = r[`value_${i}`] ?? '';
    return out;
  }

  async serverSetting(key: string): Promise<string | null> {
    const r = await this.tracker.call('server_setting', { key });
    return r.value === undefined || r.value === '' ? null : r.value;
  }

  async setServerSetting(key: string, value: string | number): Promise<void> {
    await this.tracker.call('set_server_setting', { key, value });
  }

  /** Make every deferred replication due now; resolves with how many were. */
  async replicateNow(): Promise<number> {
    const r = await this.tracker.call('replicate_now');
    return num(r.count);
  }

  listFids(from: number, count = 100): Promise<FidInfo[]> {
    return listFids(this.tracker, from, count);
  }

  fsckStart(): Promise<Args> {
    return this.tracker.call('fsck_start');
  }

  fsckStop(): Promise<Args> {
    return this.tracker.call('fsck_stop');
  }

  fsckReset(opts: { policyOnly?: boolean; startpos?: number } = {}): Promise<Args> {
    return this.tracker.call('fsck_reset', { policy_only: opts.policyOnly ? 1 : undefined, startpos: opts.startpos });
  }

  fsckStatus(): Promise<Args> {
    return this.tracker.call('fsck_status');
  }

  fsckClearLog(): Promise<Args> {
    return this.tracker.call('fsck_clearlog');
  }

  rebalance(action: 'start' | 'stop' | 'reset' | 'status' | 'test'): Promise<Args> {
    return this.tracker.call(`rebalance_${action}`);
  }

  rebalanceSetPolicy(policy: string): Promise<Args> {
    return this.tracker.call('rebalance_set_policy', { policy });
  }

  close(): void {
    if (this.ownsTracker) this.tracker.close();
  }

  /** Newer trackers reply with the hostid; older ones with other fields, so look it up. */
  private async hostidFrom(r: Args, host: string): Promise<number> {
    if (r.hostid) return num(r.hostid);
    const found = (await this.getHosts()).find((h) => h.hostname === host);
    return found ? found.hostid : 0;
  }
}

function classArgs(domain: string, cls: string, o: ClassOptions): CallArgs {
  return { domain, class: cls, mindevcount: o.mindevcount, replpolicy: o.replpolicy, hashtype: o.hashtype };
}

function hostArgs(host: string, o: HostOptions): CallArgs {
  return { host, ip: o.ip, port: o.port, getport: o.getport, altip: o.altip, altmask: o.altmask, status: o.status };
}

function num(v: string | undefined): number {
  const n = Number(v ?? 0);
  return Number.isFinite(n) ? n : 0;
}

function optNum(v: string | undefined): number | null {
  return v === undefined || v === '' ? null : num(v);
}

function optStr(v: string | undefined): string | null {
  return v === undefined || v === '' ? null : v;
}
