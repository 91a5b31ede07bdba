/**
 * rebalance_set_policy, rebalance_start, rebalance_stop, rebalance_status,
 * rebalance_test, rebalance_reset (Query.pm cmd_rebalance_*): the policy and
 * progress live in server_settings (rebal_policy, rebal_state, rebal_host,
 * rebal_signal) as in the original; the work is done by the trackers'
 * rebalance worker (workers/rebalance.ts) and replication jobs.
 */
import os from 'node:os';
import { unixNow } from '../../common/time';
import { filterDestDevices, filterSourceDevices, parsePolicy, PolicyError, saveState } from '../rebalance/policy';
import { deviceMap, writableNow } from '../workers/devices';
import { initRebalance } from '../workers/rebalance';
import { mogErr } from './errors';
import type { CommandEnv, Handler } from './types';

async function devices(ctx: CommandEnv['ctx']) {
  ctx.invalidateLayout();
  return [...deviceMap(await ctx.layout(), ctx.observed).values()];
}

function policyOf(text: string) {
  try {
    return parsePolicy(text);
  } catch (err) {
    if (err instanceof PolicyError) throw mogErr('bad_rebal_pol', err.message);
    throw err;
  }
}

export const rebalance_status: Handler = async ({ ctx }) => {
  const ss = await ctx.store.getSettings();
  if (!ss.rebal_state) throw mogErr('no_rebal_state');
  return { state: ss.rebal_state };
};

export const rebalance_start: Handler = async ({ ctx }) => {
  const ss = await ctx.store.getSettings();
  if (ss.rebal_host) throw mogErr('rebal_running', 'rebalance is already running');
  if (ss.fsck_host) throw mogErr('fsck_running', 'fsck running; cannot run rebalance at same time');
  let state = ss.rebal_state;
  if (!state) {
    if (!ss.rebal_policy) throw mogErr('no_rebal_policy');
    const policy = policyOf(ss.rebal_policy);
    state = saveState(initRebalance(policy, await devices(ctx), unixNow()));
    await ctx.store.setSetting('rebal_state', state);
  }
  await ctx.store.setSetting('rebal_signal', '');
  await ctx.store.setSetting('rebal_host', os.hostname());
  ctx.wake('rebalance');
  return { state };
};

export const rebalance_test: Handler = async ({ ctx }) => {
  const ss = await ctx.store.getSettings();
  if (!ss.rebal_policy) throw mogErr('no_rebal_policy');
  const policy = policyOf(ss.rebal_policy);
  const devs = await devices(ctx);
  const state = initRebalance(policy, devs, 0);
  return {
    sdevs: filterSourceDevices(policy, devs).join(','),
    ddevs: filterDestDevices(policy, state, devs, writableNow).join(','),
  };
};

export const rebalance_reset: Handler = async ({ ctx }) => {
  const ss = await ctx.store.getSettings();
  if (ss.rebal_host) throw mogErr('rebal_running', 'rebalance is running');
  await ctx.store.setSetting('rebal_state', '');
  return {};
};

export const rebalance_stop: Handler = async ({ ctx }) => {
  const ss = await ctx.store.getSettings();
  if (!ss.rebal_host) throw mogErr('rebal_not_started');
  await ctx.store.setSetting('rebal_signal', 'stop');
  ctx.wake('rebalance');
  return {};
};

export const rebalance_set_policy: Handler = async ({ ctx }, args) => {
  const ss = await ctx.store.getSettings();
  if (ss.rebal_host) throw mogErr('no_set_rebal', 'cannot change rebalance policy while rebalance is running');
  const text = args.policy ?? '';
  policyOf(text);
  await ctx.store.setSetting('rebal_policy', text);
  await ctx.store.setSetting('rebal_state', '');
  return {};
};

export const rebalanceCommands: Record<string, Handler> = {
  rebalance_status, rebalance_start, rebalance_test, rebalance_stop, rebalance_reset, rebalance_set_policy,
};
