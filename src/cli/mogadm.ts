/**
 * mogadm: the MogileFS admin tool, compatible with MogileFS-Utils' mogadm —
 * same commands, options, config files, output layout and exit codes:
 * 0 on success, 1 with one line on stderr on failure, 1 after usage/help.
 *
 *   mogadm --trackers=10.0.0.1:7001 host add node1 --ip=10.0.0.5 --port=7500 --status=alive
 */
import { CommanderError } from 'commander';
import { resolveSettings } from './mogadm/config';
import type { GlobalFlags } from './mogadm/config';
import { buildProgram, TOP_COMMANDS } from './mogadm/program';
import type { Chosen } from './mogadm/program';
import { MogadmFailure, Session } from './mogadm/session';

export interface MogadmIO {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

const processIO: MogadmIO = {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
};

/** Run mogadm on `argv` (node, script, args...); resolves with the exit code. */
export async function runMogadm(argv: string[], io: MogadmIO = processIO): Promise<number> {
  let chosen: Chosen | null = null;
  const program = buildProgram(io.stdout, (c) => (chosen = c));
  try {
    program.parse(argv);
  } catch (e) {
    if (!(e instanceof CommanderError)) throw e;
    // Help (asked for or shown for a missing verb) has been printed; the original exits 1 after it.
    if (e.code === 'commander.help' || e.code === 'commander.helpDisplayed') return 1;
    io.stderr(`mogadm: ${e.message.replace(/^error:\s*/, '')} (see "${helpCommand(argv)}")\n`);
    return 1;
  }
  const picked = chosen as Chosen | null;
  if (!picked) return 1;

  let session: Session | null = null;
  try {
    const settings = await resolveSettings(program.opts<GlobalFlags>());
    session = new Session({ ...settings, write: io.stdout });
    await picked.run(session);
    return 0;
  } catch (e) {
    if (e instanceof MogadmFailure) {
      io.stderr(`${e.message}\n`);
      return e.exitCode;
    }
    io.stderr(`mogadm: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  } finally {
    session?.close();
  }
}

/** The help that fits what was typed: "mogadm host add --help", or "mogadm --help" for an unknown command. */
function helpCommand(argv: string[]): string {
  const words = argv.slice(2).filter((a) => !a.startsWith('-'));
  const top = TOP_COMMANDS.find((t) => t.name === words[0]);
  if (!top) return 'mogadm --help';
  const verb = top.verbs && Object.prototype.hasOwnProperty.call(top.verbs, words[1] ?? '') ? ` ${words[1]}` : '';
  return `mogadm ${top.name}${verb} --help`;
}

export function main(argv: string[]): void {
  runMogadm(argv).then(
    (code) => exitAfterFlush(code),
    (e: unknown) => {
      process.stderr.write(`mogadm: ${e instanceof Error ? e.message : String(e)}\n`);
      exitAfterFlush(1);
    },
  );
}

/** Exit once stdout and stderr have taken everything written (pipes may be asynchronous). */
function exitAfterFlush(code: number): void {
  process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
}

if (require.main === module) main(process.argv);
