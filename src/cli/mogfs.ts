/**
 * `mogfs`: the front door. `mogfs up` starts a one-machine cluster; file
 * tools (upload, fetch, ls, import...) come as further subcommands.
 */
import { Command, Option } from 'commander';
import { up } from './up';
import { registerTools } from './tools';
import { registerMount } from './mount';
import { registerGateway } from './gateway';
import { registerDav } from './dav';

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
    .option('--dav-port <n>', 'WebDAV server port on 127.0.0.1', (v) => parsePort(v), 7070)
    .option('--no-dav', 'do not start the WebDAV server')
    .option('--gateway-port <n>', 'short-URL gateway (and status page) port on 127.0.0.1', (v) => parsePort(v), 7080)
    .option('--no-gateway', 'do not start the gateway')
    .action(async (o: { data: string; trackerPort: number; storagePort: number; db: string; mount: boolean; mountDir: string;
      dav: boolean; davPort: number; gateway: boolean; gatewayPort: number }) => {
      await up({ ...o, davPort: o.dav ? o.davPort : false, gatewayPort: o.gateway ? o.gatewayPort : false });
    });
  registerTools(program);
  registerMount(program);
  registerGateway(program);
  registerDav(program);
  program.parseAsync(argv).catch((e: unknown) => {
    console.error(`mogfs: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  });
}

/**
 * A MogileFS-Utils command run under its own name (bin/mogupload.js, ...):
 * the mogfs subcommand that answers to that name, with the same flags.
 */
export function runUtility(name: string, argv: string[]): void {
  main([argv[0], argv[1], name, ...argv.slice(2)]);
}

function parsePort(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 65534) throw new Error(`not a usable port: ${v}`);
  return n;
}

if (require.main === module) main(process.argv);
