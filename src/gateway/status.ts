/**
 * What the status page shows, gathered from the tracker: hosts and devices
 * (get_hosts, get_devices), domains (get_domains), and from our tracker's
 * `mogfs_stats` files and bytes per domain, the replication and delete
 * backlogs and its recent errors. Against a stock tracker those last are
 * missing and the page says so. One snapshot is shared by every viewer for
 * a couple of seconds, so many open pages cost the tracker the same.
 */
import { isUnknownCommand, MogileFSAdmin } from '../client';
import type { TrackerClient } from '../client';
import type { RecentError, RecentErrors } from '../common/recent';

export interface StatusDevice {
  devid: number;
  host: string;
  status: string;
  /** What the tracker's monitor saw: writeable, readable, unreachable, or null before its first round. */
  observed: string | null;
  mbTotal: number;
  mbUsed: number;
  mbFree: number;
  weight: number;
}

export interface StatusData {
  /** Unix ms. */
  generated: number;
  trackers: string[];
  /** Whether the tracker has our extensions (else no counts, backlogs or tracker errors). */
  extensions: boolean;
  hosts: Array<{ hostid: number; name: string; ip: string; port: number; status: string }>;
  devices: StatusDevice[];
  /** files/bytes null when the tracker cannot count them. */
  domains: Array<{ name: string; classes: number; files: number | null; bytes: number | null }>;
  queues: { replicate: number | null; delete: number | null };
  /** Newest first: the gateway's own and the tracker's. */
  errors: Array<RecentError & { from: 'gateway' | 'tracker' }>;
  gateway: { startedAt: number; requests: number; errorsTotal: number };
  /** Things the page should say are missing or wrong. */
  notes: string[];
}

export interface GatewayCounters {
  startedAt: number;
  requests: number;
}

/** How long one snapshot serves every viewer, ms. */
const SNAPSHOT_MS = 2000;

export class StatusSource {
  private readonly admin: MogileFSAdmin;
  private snapshot: { at: number; data: Promise<StatusData> } | null = null;

  constructor(private readonly tracker: TrackerClient, private readonly recent: RecentErrors, private readonly counters: GatewayCounters) {
    this.admin = new MogileFSAdmin({ tracker });
  }

  /** The shared snapshot, with this gateway's own counters as they are now. */
  async get(): Promise<StatusData> {
    const data = await this.shared();
    const own: StatusData['errors'] = this.recent.list().map((e) => ({ ...e, from: 'gateway' }));
    return {
      ...data,
      errors: [...own, ...data.errors].sort((a, b) => b.time - a.time).slice(0, 50),
      gateway: { startedAt: this.counters.startedAt, requests: this.counters.requests, errorsTotal: this.recent.total },
    };
  }

  private shared(): Promise<StatusData> {
    const now = Date.now();
    if (this.snapshot && now - this.snapshot.at < SNAPSHOT_MS) return this.snapshot.data;
    const data = this.collect();
    const snap = { at: now, data };
    this.snapshot = snap;
    data.catch(() => {
      if (this.snapshot === snap) this.snapshot = null;
    });
    return data;
  }

  private async collect(): Promise<StatusData> {
    const notes: string[] = [];
    const [hosts, devices, domains, stats] = await Promise.all([
      this.admin.getHosts(),
      this.admin.getDevices(),
      this.admin.getDomains(),
      this.tracker.call('mogfs_stats', {}, { idempotent: true }).catch((e: unknown) => {
        if (isUnknownCommand(e)) return null;
        notes.push(`mogfs_stats failed: ${e instanceof Error ? e.message : String(e)}`);
        return undefined;
      }),
    ]);
    if (stats === null) notes.push('the tracker is a stock MogileFS tracker: files per domain, backlogs and its errors are not available');
    const hostName = new Map(hosts.map((h) => [h.hostid, h.hostname]));
    const counts = new Map<string, { files: number; bytes: number }>();
    const trackerErrors: StatusData['errors'] = [];
    if (stats) {
      for (let i = 1; i <= Number(stats.domain_count ?? 0); i++) {
        counts.set(stats[`domain_${i}_name`] ?? '', { files: Number(stats[`domain_${i}_files`]), bytes: Number(stats[`domain_${i}_bytes`]) });
      }
      for (let i = 1; i <= Number(stats.error_count ?? 0); i++) {
        const p = `error_${i}_`;
        trackerErrors.push({
          from: 'tracker',
          time: Number(stats[`${p}time`]),
          level: (stats[`${p}level`] ?? 'error') as RecentError['level'],
          source: stats[`${p}source`] ?? '',
          message: stats[`${p}message`] ?? '',
        });
      }
    }
    return {
      generated: Date.now(),
      trackers: [...this.tracker.trackers],
      extensions: stats !== null,
      hosts: hosts.map((h) => ({ hostid: h.hostid, name: h.hostname, ip: h.hostip, port: h.http_port, status: h.status })),
      devices: devices
        .sort((a, b) => a.devid - b.devid)
        .map((d) => ({
          devid: d.devid,
          host: hostName.get(d.hostid) ?? `host ${d.hostid}`,
          status: d.status,
          observed: d.observed_state,
          mbTotal: d.mb_total,
          mbUsed: d.mb_used,
          mbFree: Math.max(0, d.mb_total - d.mb_used),
          weight: d.weight,
        })),
      domains: domains
        .map((d) => ({ name: d.name, classes: d.classes.length, files: counts.get(d.name)?.files ?? (stats ? 0 : null), bytes: counts.get(d.name)?.bytes ?? (stats ? 0 : null) }))
        .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
      queues: {
        replicate: stats ? Number(stats.replicate_queue) : null,
        delete: stats ? Number(stats.delete_queue) : null,
      },
      // The gateway's own errors and counters are added fresh by get().
      errors: trackerErrors,
      gateway: { startedAt: this.counters.startedAt, requests: 0, errorsTotal: 0 },
      notes,
    };
  }
}
