/**
 * mogadm's command table, in the original's shape: top commands (check,
 * host, device, ...) with verbs, each verb with its positional arguments,
 * its --options and what it does. The parser is built from this table and
 * the help text printed from it, so the two cannot drift apart.
 */
import { sprintf } from './format';
import type { Session } from './session';

export type OptType = 'string' | 'int' | 'flag';

export interface OptSpec {
  /** Without the dashes, e.g. 'mindevcount' or 'policy-only'. */
  name: string;
  type: OptType;
  des: string;
}

export interface ArgSpec {
  name: string;
  des?: string;
}

export type OptValue = string | number | boolean | undefined;

export interface VerbInput {
  args: Record<string, string>;
  /** By option name as written (`policy-only`, not camelCase). */
  opts: Record<string, OptValue>;
}

export interface VerbSpec {
  des: string;
  args?: ArgSpec[];
  opts?: OptSpec[];
  run(s: Session, input: VerbInput): Promise<void>;
}

export interface TopSpec {
  name: string;
  des: string;
  /** Top commands without verbs (check, stats). */
  run?: (s: Session) => Promise<void>;
  verbs?: Record<string, VerbSpec>;
}

function argsLine(v: VerbSpec): string {
  const parts = (v.args ?? []).map((a) => `<${a.name}>`);
  if (v.opts && v.opts.length > 0) parts.push('[opts]');
  return parts.join(' ');
}

/** `mogadm` alone, or --help: every command, one line each. */
export function usageText(tops: TopSpec[]): string {
  let out = 'Usage:  (enter any command prefix, leaving off options, for further help)\n\n';
  for (const t of tops) {
    if (!t.verbs) {
      out += sprintf('  mogadm %-25s %-s\n', t.name, t.des);
      continue;
    }
    out += `  mogadm ${t.name} ...\n`;
    for (const verb of Object.keys(t.verbs).sort()) {
      const v = t.verbs[verb];
      out += '       ' + sprintf('  %-25s %-s\n', `${t.name} ${verb} ${v.args || v.opts ? '...' : ''}`, v.des);
    }
  }
  return `${out}\n`;
}

/** `mogadm host` or `mogadm host add --help`: the verbs of one command, or one verb with its options. */
export function topHelp(t: TopSpec, verb?: string): string {
  let out = `Help for '${t.name}${verb ? `-${verb}` : ''}' command:\n`;
  if (!verb) out += ' (enter any command prefix, leaving off options, for further help)\n';
  out += '\n';
  const verbs = t.verbs ?? {};
  for (const name of Object.keys(verbs).sort()) {
    if (verb && verb !== name) continue;
    out += sprintf('  %-50s %-s\n', `mogadm ${t.name} ${name} ${argsLine(verbs[name])}`, verbs[name].des);
  }
  if (!t.verbs) out += sprintf('  %-50s %-s\n', `mogadm ${t.name}`, t.des);
  out += '\n';
  const v = verb ? verbs[verb] : undefined;
  if (v) {
    for (const a of v.args ?? []) out += sprintf('      %-20s %s\n', `<${a.name}>`, a.des ?? '');
    const opts = [...(v.opts ?? [])].sort((a, b) => (a.name < b.name ? -1 : 1));
    for (const o of opts) {
      const suffix = o.type === 'string' ? '=s' : o.type === 'int' ? '=i' : '';
      out += sprintf('      %-20s %s\n', `--${o.name}${suffix}`, o.des);
    }
    out += '\n';
  }
  return out;
}
