/**
 * Lookups most commands share: domain and class by name (with the original's
 * two flavours of "no such domain"), devices with their hosts, storage URLs,
 * and the Perl-ish argument coercions (`$args->{x}+0`, truthiness).
 */
import type { Args } from '../../protocol';
import type { ClassRow, DeviceRow, DomainRow, FileRow, HostRow } from '../../store';
import { fidPathOnDevice } from '../../common/fidpath';
import type { Layout, TrackerContext } from '../context';
import { defaultMindevcountOf } from '../layout';
import { mogErr } from './errors';

/** Perl truthiness of an argument: missing, '' and '0' are false. */
export function truthy(v: string | undefined): v is string {
  return v !== undefined && v !== '' && v !== '0';
}

/** Perl's `$x + 0` on a string: the leading number, or 0. */
export function num(v: string | undefined): number {
  if (v === undefined) return 0;
  const m = /^\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)/.exec(v);
  return m ? Number(m[1]) : 0;
}

/** Perl's int($x): the number truncated toward zero. */
export function int(v: string | undefined): number {
  return Math.trunc(num(v));
}

/**
 * The client-facing domain check (Query.pm check_domain): `no_domain` when
 * none is given, `unreg_domain` when it does not exist. File commands use it.
 */
export function checkDomain(layout: Layout, args: Args): DomainRow {
  const name = args.domain;
  if (name === undefined || name === '') throw mogErr('no_domain');
  const dom = layout.domains.find((d) => d.namespace === name);
  if (!dom) throw mogErr('unreg_domain');
  return dom;
}

/** The file a `domain` + `key` request names: no_domain, unreg_domain, no_key, unknown_key. */
export async function fileByKey(ctx: TrackerContext, args: Args, from: Pick<TrackerContext['store'], 'getFileByKey'> = ctx.store): Promise<{ layout: Layout; dom: DomainRow; file: FileRow }> {
  const layout = await ctx.layout();
  const dom = checkDomain(layout, args);
  if (!args.key) throw mogErr('no_key');
  const file = await from.getFileByKey(dom.dmid, args.key);
  if (!file) throw mogErr('unknown_key');
  return { layout, dom, file };
}

/** The admin-side lookup (delete_domain, *_class): `domain_not_found`. */
export function adminDomain(layout: Layout, name: string): DomainRow {
  const dom = layout.domains.find((d) => d.namespace === name);
  if (!dom) throw mogErr('domain_not_found');
  return dom;
}

/**
 * A class by name within a domain. Every domain has a class `default`
 * (classid 0) even without a row; a row named `default` overrides it.
 */
export function classByName(layout: Layout, dmid: number, name: string, defaultMindevcount: number): ClassRow | undefined {
  const row = layout.classes.find((c) => c.dmid === dmid && c.classname === name);
  if (row) return row;
  if (name === 'default') return implicitDefault(dmid, defaultMindevcount);
  return undefined;
}

export function classById(layout: Layout, dmid: number, classid: number, defaultMindevcount: number): ClassRow | undefined {
  const row = layout.classes.find((c) => c.dmid === dmid && c.classid === classid);
  if (row) return row;
  if (classid === 0) return implicitDefault(dmid, defaultMindevcount);
  return undefined;
}

function implicitDefault(dmid: number, mindevcount: number): ClassRow {
  return { dmid, classid: 0, classname: 'default', mindevcount, replpolicy: null, hashtype: null };
}

/** All classes of a domain as clients see them: the implicit default first, then by classid. */
export function domainClasses(layout: Layout, dmid: number, defaultMindevcount: number): ClassRow[] {
  const rows = layout.classes.filter((c) => c.dmid === dmid).sort((a, b) => a.classid - b.classid);
  if (!rows.some((c) => c.classname === 'default' || c.classid === 0)) rows.unshift(implicitDefault(dmid, defaultMindevcount));
  return rows;
}

/** The default class's mindevcount: the `default_mindevcount` server setting, else 2. */
export async function defaultMindevcount(settings: () => Promise<Record<string, string>>): Promise<number> {
  return defaultMindevcountOf(await settings());
}

/** The original's names for class hash types (MogileFS::Checksum). */
export const HASHTYPE_NAME: Record<number, string> = { 1: 'MD5' };
export const HASHTYPE_BY_NAME: Record<string, number> = { MD5: 1 };

export function hashtypeString(hashtype: number | null): string {
  return hashtype ? (HASHTYPE_NAME[hashtype] ?? 'NONE') : 'NONE';
}

export function replpolicyString(replpolicy: string | null): string {
  return replpolicy && replpolicy.length > 0 ? replpolicy : 'MultipleHosts()';
}

export interface DeviceWithHost {
  device: DeviceRow;
  host: HostRow;
}

export function deviceWithHost(layout: Layout, devid: number): DeviceWithHost | undefined {
  const device = layout.devices.find((d) => d.devid === devid);
  if (!device) return undefined;
  const host = layout.hosts.find((h) => h.hostid === device.hostid);
  return host ? { device, host } : undefined;
}

/** The address a client should use for a host: its altip for `zone=alt` requests when it has one. */
export function hostAddress(host: HostRow, altZone: boolean): string {
  return altZone && host.altip ? host.altip : host.hostip;
}

/** URL to PUT a fid to (DevFID->url: the host's http_port). */
export function putUrl(dh: DeviceWithHost, fid: number, altZone = false): string {
  return `http://${hostAddress(dh.host, altZone)}:${dh.host.http_port}${fidPathOnDevice(dh.device.devid, fid)}`;
}

/** URL to GET a fid from (DevFID->get_url: http_get_port when set). */
export function getUrl(dh: DeviceWithHost, fid: number, altZone = false): string {
  const port = dh.host.http_get_port || dh.host.http_port;
  return `http://${hostAddress(dh.host, altZone)}:${port}${fidPathOnDevice(dh.device.devid, fid)}`;
}
