/**
 * `mogfs`: the front door. `mogfs up` starts a one-machine cluster; file
 * tools (upload, fetch, ls, import...) come as further subcommands.
 */
import { Command, Option } from 'commander';
import { up } from './up';
import { registerTools } from './tools';
import { registerMount } from './mount';

export function main(argv: string[]): void {
  const program = new Command('mogfs').description('MogileFS in TypeScript: cluster, tools and folders');
  program
    .command('up')
    .description('start a one-machine cluster (tracker, two storage nodes, SQLite) in the foreground')
    .option('--data <dir>', 'where metadata, devices and logs live', './data')
    .option('--tracker-port <n>', 'tracker port on 127.0.0.1', (v) => parsePort(v), 7001)
    .option('--storage-port <n>', 'storage node HTTP port (side channel on n+1)', (v) => parsePort(v), 7500)
    .addOption(new Option('--db <dsn>', 'metadata store: sqlite, or mysql://user:pass@host:port/db').default('sqlite'))
    .option('--no-mount', 'do not mount the FUSE folder')
    .option('--mount-dir <dir>', 'where every domain is mounted as a folder', './mount')
    .action(async (o: { data: string; trackerPort: number; storagePort: number; db: string; mount: boolean; mountDir: string }) => {
      await up(o);
    });
  registerTools(program);
  registerMount(program);
  program.parseAsync(argv).catch((e: unknown) => {
    console.error(`mogfs: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  });
}

function parsePort(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 65534) throw new Error(`not a usable port: ${v}`);
  return n;
}

if (require.main === module) main(process.argv);
