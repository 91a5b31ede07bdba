/**
 * Domain commands: create_domain, delete_domain, get_domains. Replies and
 * error codes follow Query.pm; get_domains lists each domain's implicit
 * `default` class even when it has no class row.
 */
import { isMogError } from '../../protocol';
import { mogErr } from './errors';
import { adminDomain, defaultMindevcount, domainClasses, hashtypeString, replpolicyString } from './lookup';
import type { Handler, ReplyArgs } from './types';

export const create_domain: Handler = async ({ ctx }, args) => {
  const domain = args.domain;
  if (!domain) throw mogErr('no_domain');
  try {
    await ctx.store.createDomain(domain);
  } catch (err) {
    if (isMogError(err, 'domain_exists') || isMogError(err, 'dup')) throw mogErr('domain_exists');
    throw err;
  } finally {
    ctx.invalidateLayout();
  }
  return { domain };
};

export const delete_domain: Handler = async ({ ctx }, args) => {
  const domain = args.domain;
  if (!domain) throw mogErr('no_domain');
  ctx.invalidateLayout();
  const layout = await ctx.layout();
  const dom = adminDomain(layout, domain);
  if (await ctx.store.domainHasFiles(dom.dmid)) throw mogErr('domain_has_files');
  // The default class does not count: the original lets a domain go with only
  // its default class row, and removes that row with it.
  const classes = layout.classes.filter((c) => c.dmid === dom.dmid);
  if (classes.some((c) => c.classid !== 0 && c.classname !== 'default')) throw mogErr('domain_has_classes');
  for (const c of classes) await ctx.store.deleteClass(dom.dmid, c.classid);
  await ctx.store.deleteDomain(dom.dmid);
  ctx.invalidateLayout();
  return { domain };
};

export const get_domains: Handler = async ({ ctx }) => {
  const layout = await ctx.layout();
  const defMin = await defaultMindevcount(() => ctx.store.getSettings());
  const ret: ReplyArgs = {};
  const domains = [...layout.domains].sort((a, b) => (a.namespace < b.namespace ? -1 : a.namespace > b.namespace ? 1 : 0));
  let n = 0;
  for (const dom of domains) {
    n++;
    ret[`domain${n}`] = dom.namespace;
    const classes = domainClasses(layout, dom.dmid, defMin);
    let m = 0;
    for (const c of classes) {
      m++;
      ret[`domain${n}class${m}name`] = c.classname;
      ret[`domain${n}class${m}mindevcount`] = c.mindevcount;
      ret[`domain${n}class${m}replpolicy`] = replpolicyString(c.replpolicy);
      ret[`domain${n}class${m}hashtype`] = hashtypeString(c.hashtype);
    }
    ret[`domain${n}classes`] = m;
  }
  ret.domains = n;
  return ret;
};
