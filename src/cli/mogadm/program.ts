/**
 * The commander program behind mogadm, built from the command table so it
 * takes the original's forms (`mogadm host add h --ip=1.2.3.4 --port=7500`,
 * `mogadm device add h dev5`, global --trackers/--config/--lib/--verbose)
 * and prints the original's help instead of commander's.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { check } from './check';
import { deviceCommand } from './device';
import { classCommand, domainCommand } from './domain';
import { fsckCommand } from './fsck';
import { hostCommand } from './host';
import { rebalanceCommand } from './rebalance';
import { settingsCommand } from './settings';
import { slaveCommand } from './slave';
import { stats } from './stats';
import { topHelp, usageText } from './spec';
import type { OptSpec, OptValue, TopSpec, VerbInput } from './spec';
import type { Session } from './session';

/** In the original's order of its usage text. */
export const TOP_COMMANDS: TopSpec[] = [
  { name: 'check', des: 'Check the state of the MogileFS world.', run: check },
  { name: 'stats', des: 'Show MogileFS system statistics.', run: stats },
  hostCommand,
  deviceCommand,
  domainCommand,
  classCommand,
  slaveCommand,
  fsckCommand,
  rebalanceCommand,
  settingsCommand,
];

/** What the command line asked for, once parsed. */
export interface Chosen {
  run: (s: Session) => Promise<void>;
}

function parseInteger(v: string): number {
  if (!/^-?\d+$/.test(v)) throw new InvalidArgumentError('expected a whole number.');
  return Number(v);
}

function makeOption(o: OptSpec): Option {
  const flags = o.type === 'flag' ? `--${o.name}` : `--${o.name} <${o.name}>`;
  const opt = new Option(flags, o.des);
  if (o.type === 'int') opt.argParser(parseInteger);
  return opt;
}

/** "dev5" means devid 5, as in the original. */
function positional(name: string, value: string): string {
  const m = name === 'devid' ? /^dev(\d+)$/.exec(value) : null;
  return m ? m[1] : value;
}

export function buildProgram(write: (text: string) => void, choose: (c: Chosen) => void): Command {
  const program = new Command('mogadm');
  program
    .exitOverride()
    // Help goes to stdout as the original prints it; errors are reported by the caller, one line.
    .configureOutput({ writeOut: write, writeErr: write, outputError: () => undefined })
    .option('--trackers <list>', 'comma-separated tracker host:port list')
    .option('--config <file>', 'config file to read before ~/.mogilefs.conf and /etc/mogilefs/mogilefs.conf')
    .option('--lib <dir>', 'accepted for compatibility (a Perl module path; unused)')
    .option('--verbose', 'print a line when a change succeeds');
  program.helpInformation = () => usageText(TOP_COMMANDS);

  for (const top of TOP_COMMANDS) {
    const topCmd = program.command(top.name).description(top.des);
    topCmd.helpInformation = () => topHelp(top);
    if (top.run) {
      const run = top.run;
      topCmd.action(() => choose({ run }));
      continue;
    }
    for (const [verb, spec] of Object.entries(top.verbs ?? {})) {
      const cmd = topCmd.command(verb).description(spec.des);
      cmd.helpInformation = () => topHelp(top, verb);
      for (const a of spec.args ?? []) cmd.argument(`<${a.name}>`, a.des ?? '');
      const options = (spec.opts ?? []).map((o) => ({ spec: o, option: makeOption(o) }));
      for (const { option } of options) cmd.addOption(option);
      cmd.action((...params: unknown[]) => {
        const self = params[params.length - 1] as Command;
        const input: VerbInput = { args: {}, opts: {} };
        (spec.args ?? []).forEach((a, i) => {
          input.args[a.name] = positional(a.name, String(self.processedArgs[i]));
        });
        const values = self.opts<Record<string, OptValue>>();
        for (const { spec: o, option } of options) input.opts[o.name] = values[option.attributeName()];
        choose({ run: (s) => spec.run(s, input) });
      });
    }
  }
  return program;
}
