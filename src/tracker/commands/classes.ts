/**
 * Class commands: create_class, update_class, delete_class (Query.pm
 * cmd_create_class and friends). update_class of a `default` class that has
 * no row yet creates the row, as the original does, so an operator can raise
 * the default class's mindevcount.
 */
import type { Args } from '../../protocol';
import { isMogError } from '../../protocol';
import type { ClassRow } from '../../store';
import { mogErr } from './errors';
import { adminDomain, HASHTYPE_BY_NAME, num } from './lookup';
import type { CommandEnv, Handler } from './types';

/** Replication policies this tracker understands, by the original's names. */
const POLICY = /^(MultipleHosts|MultipleDevices|MultipleNetworks|HostsPerNetwork)\(\s*(\d*)\s*\)$/;

function checkReplpolicy(policy: string): void {
  if (POLICY.test(policy)) return;
  throw mogErr(
    'invalid_replpolicy',
    `unknown replication policy "${policy}": use MultipleHosts() or MultipleHosts(N), MultipleDevices(), MultipleNetworks()`,
  );
}

async function modClass(env: CommandEnv, args: Args, update: boolean): Promise<Record<string, string | number>> {
  const { ctx } = env;
  const domain = args.domain ?? '';
  if (domain === '') throw mogErr('no_domain');
  const classname = args.class ?? '';
  if (classname === '') throw mogErr('no_class');
  const mindevcount = Math.trunc(num(args.mindevcount));
  if (!(mindevcount > 0)) throw mogErr('invalid_mindevcount');

  const replpolicy = args.replpolicy || '';
  if (replpolicy) checkReplpolicy(replpolicy);

  // hashtype: absent = leave as is; NONE = clear; a known name = set.
  let hashtype: number | null | undefined;
  if (args.hashtype) {
    if (args.hashtype === 'NONE') hashtype = null;
    else {
      hashtype = HASHTYPE_BY_NAME[args.hashtype];
      if (!hashtype) throw mogErr('invalid_hashtype', `unknown hashtype "${args.hashtype}": use MD5 or NONE`);
    }
  }

  ctx.invalidateLayout();
  const layout = await ctx.layout();
  const dom = adminDomain(layout, domain);
  const existing = layout.classes.find((c) => c.dmid === dom.dmid && c.classname === classname);

  let row: ClassRow;
  if (update && (existing || classname !== 'default')) {
    if (!existing) throw mogErr('class_not_found');
    row = { ...existing };
  } else {
    if (existing) throw mogErr('class_exists');
    try {
      row = await ctx.store.createClass({ dmid: dom.dmid, classname, mindevcount, replpolicy: null, hashtype: null });
    } catch (err) {
      ctx.invalidateLayout();
      if (isMogError(err, 'class_exists') || isMogError(err, 'dup')) throw mogErr('class_exists');
      throw err;
    }
  }
  row.mindevcount = mindevcount;
  // An existing replpolicy is kept unless a new one is given.
  if (replpolicy) row.replpolicy = replpolicy;
  if (hashtype !== undefined) row.hashtype = hashtype;
  await ctx.store.updateClass(row);
  ctx.invalidateLayout();
  return { class: classname, mindevcount, domain };
}

export const create_class: Handler = (env, args) => modClass(env, args, false);
export const update_class: Handler = (env, args) => modClass(env, args, true);

export const delete_class: Handler = async ({ ctx }, args) => {
  const domain = args.domain ?? '';
  if (domain === '') throw mogErr('no_domain');
  const classname = args.class ?? '';
  if (classname === 'default') throw mogErr('nodel_default_class');
  ctx.invalidateLayout();
  const layout = await ctx.layout();
  const dom = adminDomain(layout, domain);
  const cls = layout.classes.find((c) => c.dmid === dom.dmid && c.classname === classname);
  if (!cls) throw mogErr('class_not_found');
  if (await ctx.store.classHasFiles(dom.dmid, cls.classid)) throw mogErr('class_has_files');
  await ctx.store.deleteClass(dom.dmid, cls.classid);
  ctx.invalidateLayout();
  return { domain, class: classname };
};
