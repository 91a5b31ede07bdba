/**
 * server_setting, server_settings, set_server_setting: the cluster-wide
 * settings table. Which keys may be written, and in what form, follows
 * MogileFS::Config->server_setting_is_writable, plus our default_mindevcount.
 */
import { mogErr } from './errors';
import type { Handler, ReplyArgs } from './types';

type Check = (value: string) => string;

const any: Check = (v) => v;
const numeric: Check = (v) => {
  if (!/^\d+$/.test(v)) throw mogErr('invalid_format', `"${v}" is not a whole number; give digits only`);
  return v;
};
const bool: Check = (v) => {
  if (/^(1|on|true|yes)$/i.test(v)) return '1';
  if (/^(0|off|false|no)$/i.test(v)) return '0';
  throw mogErr('invalid_format', `"${v}" is not a boolean; use 1/0, on/off, yes/no or true/false`);
};
const oneOf = (...allowed: string[]): Check => (v) => {
  if (!allowed.includes(v)) throw mogErr('invalid_format', `"${v}" is not allowed; use one of: ${allowed.join(', ')}`);
  return v;
};
const netmasks: Check = (v) => {
  for (const part of v.split(',')) {
    if (!/^\s*\d{1,3}(\.\d{1,3}){3}\/\d{1,2}\s*$/.test(part)) {
      throw mogErr('invalid_format', `"${part}" is not a netmask; use a comma-separated list like 10.0.0.0/8`);
    }
  }
  return v;
};

function writable(key: string): Check | null {
  if (/^slave_/.test(key)) return any;
  if (/^zone_/.test(key)) return netmasks;
  switch (key) {
    case 'enable_rebalance':
    case 'case_sensitive_list_keys':
    case 'skip_devcount':
      return bool;
    case 'memcache_servers':
    case 'network_zones':
    case 'rebal_policy':
      return any;
    case 'memcache_ttl':
    case 'internal_queue_limit':
    case 'queue_size_for_reaper':
    case 'queue_rate_for_reaper':
    case 'queue_size_for_fsck':
    case 'queue_rate_for_fsck':
    case 'queue_size_for_rebal':
    case 'queue_rate_for_rebal':
    case 'default_mindevcount':
      return numeric;
    case 'fsck_checksum':
      return oneOf('class', 'off', 'MD5');
    default:
      return null;
  }
}

export const set_server_setting: Handler = async ({ ctx }, args) => {
  const key = args.key;
  if (!key) throw mogErr('bad_params');
  const check = writable(key);
  if (!check) throw mogErr('not_writable', `setting "${key}" cannot be set through the protocol`);
  const value = args.value ?? '';
  const clean = value === '' ? '' : check(value);
  await ctx.store.setSetting(key, clean);
  // The cached layout carries default_mindevcount (the replicator's and fsck's implicit default class).
  if (key === 'default_mindevcount') ctx.invalidateLayout();
  if (key.startsWith('slave_') && key !== 'slave_version') {
    // The original bumps slave_version so trackers notice a changed slave list.
    const settings = await ctx.store.getSettings();
    await ctx.store.setSetting('slave_version', String((Number(settings.slave_version) || 0) + 1));
  }
  return {};
};

export const server_setting: Handler = async ({ ctx }, args) => {
  const key = args.key;
  if (!key) throw mogErr('bad_params');
  const settings = await ctx.store.getSettings();
  return { key, value: settings[key] ?? null };
};

export const server_settings: Handler = async ({ ctx }) => {
  const settings = await ctx.store.getSettings();
  const ret: ReplyArgs = {};
  let n = 0;
  for (const k of Object.keys(settings).sort()) {
    n++;
    ret.key_count = n;
    ret[`key_${n}`] = k;
    ret[`value_${n}`] = settings[k];
  }
  return ret;
};
