/**
 * A private MariaDB for tests: its own temp datadir, unix socket and pid file
 * inside that dir, a free TCP port on 127.0.0.1, root without a password.
 * Never touches the system instance (--no-defaults ignores /etc/mysql).
 *
 * As a library: `const db = await startMariadb(); ... await db.stop()`.
 * As a script (used by scripts/run-tests.js to share one server per run):
 *   node mariadb.js start          -> prints {"url","pid","datadir"} and leaves it running
 *   node mariadb.js stop <datadir> -> stops it and removes the datadir
 */
import { spawn } from 'node:child_process';
import { existsSync, openSync, closeSync } from 'node:fs';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import mysql from 'mysql2/promise';

export interface MariadbHandle {
  /** `mysql://root@127.0.0.1:PORT/`: no database selected; callers CREATE DATABASE their own. */
  url: string;
  pid: number;
  datadir: string;
  /** The server's Unix socket (reachable from any network namespace). */
  socket: string;
  /** TCP port on bindAddress. */
  port: number;
  stop(): Promise<void>;
  /** Stops the server (SIGTERM, or SIGKILL with `hard`) but keeps its datadir, for startAgain() (fault tests). */
  stopServer(opts?: { hard?: boolean }): Promise<void>;
  /** Starts the server again on the same datadir, port and socket after stopServer(); `pid` is updated. */
  startAgain(): Promise<void>;
}

const SERVER_BINS = ['/usr/sbin/mariadbd', '/usr/sbin/mysqld', '/usr/bin/mariadbd', '/usr/bin/mysqld'];
const INSTALL_BINS = ['/usr/bin/mariadb-install-db', '/usr/bin/mysql_install_db', '/usr/sbin/mariadb-install-db'];

function findBin(candidates: string[], what: string): string {
  const found = candidates.find((p) => existsSync(p));
  if (!found) {
    throw new Error(`${what} not found (looked in ${candidates.join(', ')}); install it with: apt-get install -y mariadb-server`);
  }
  return found;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

function run(cmd: string, args: string[], logFile: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const fd = openSync(logFile, 'a');
    const child = spawn(cmd, args, { stdio: ['ignore', fd, fd] });
    child.once('error', (e) => { closeSync(fd); reject(e); });
    child.once('exit', (code) => {
      closeSync(fd);
      if (code === 0) resolve();
      else reject(new Error(`${cmd} exited with ${code}; see ${logFile}`));
    });
  });
}

/** Whether a process with this pid exists. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitUntil(what: string, deadlineMs: number, check: () => Promise<boolean>): Promise<void> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Starts the server; `detached` leaves it running after this process exits. */
export interface MariadbOptions {
  detached?: boolean;
  /** Run the server inside this network namespace (test/helpers/netns.ts), listening on `bindAddress`. */
  netns?: string;
  bindAddress?: string;
  /** Keep a binary log (`--log-bin`, binlog format ROW) so a replica can follow this server. */
  logBin?: boolean;
  /** `--server-id` (replication needs distinct ones; default 1). */
  serverId?: number;
  /** More server flags. */
  extraArgs?: string[];
}

export async function startMariadb(opts: MariadbOptions = {}): Promise<MariadbHandle> {
  const server = findBin(SERVER_BINS, 'mariadbd');
  const install = findBin(INSTALL_BINS, 'mariadb-install-db');
  const datadir = await fs.mkdtemp(path.join(os.tmpdir(), 'mogfs-mariadb-'));
  const data = path.join(datadir, 'data');
  const log = path.join(datadir, 'error.log');
  await run(install, [
    '--no-defaults', `--datadir=${data}`, '--user=root', '--auth-root-authentication-method=normal',
    '--skip-test-db', '--skip-name-resolve',
  ], path.join(datadir, 'install.log'));

  const port = await freePort();
  const bind = opts.bindAddress ?? '127.0.0.1';
  const socket = path.join(datadir, 'mysqld.sock');
  const url = `mysql://root@${bind}:${port}/`;
  const launch = async (): Promise<number> => {
    const out = openSync(path.join(datadir, 'stdout.log'), 'a');
    // `ip netns exec` execs the server in place: the child's pid is the server's.
    const [cmd, pre] = opts.netns ? ['ip', ['netns', 'exec', opts.netns, server]] : [server, []];
    const child = spawn(cmd, [...pre,
      '--no-defaults', `--datadir=${data}`, `--socket=${socket}`,
      `--pid-file=${path.join(datadir, 'mysqld.pid')}`, `--port=${port}`, `--bind-address=${bind}`,
      '--user=root', '--skip-name-resolve', `--log-error=${log}`,
      ...(opts.logBin ? [`--log-bin=${path.join(data, 'binlog')}`, '--binlog-format=ROW'] : ['--skip-log-bin']),
      `--server-id=${opts.serverId ?? 1}`,
      // Test data is disposable: trade durability for speed and a small footprint.
      '--innodb-buffer-pool-size=64M', '--innodb-flush-log-at-trx-commit=2', '--innodb-doublewrite=0',
      '--max-connections=500',
      ...(opts.extraArgs ?? []),
    ], { stdio: ['ignore', out, out], detached: !!opts.detached });
    closeSync(out);
    if (opts.detached) child.unref();
    const childPid = child.pid as number;
    let exited = false;
    child.once('exit', () => { exited = true; });
    try {
      await waitUntil(`MariaDB on port ${port} (log: ${log})`, 60_000, async () => {
        if (exited) throw new Error(`mariadbd exited during startup; see ${log}`);
        try {
          // The socket file is reachable from any namespace; the port only from the server's.
          const c = await mysql.createConnection(opts.netns ? { socketPath: socket, user: 'root' } : { host: '127.0.0.1', port, user: 'root' });
          await c.end();
          return true;
        } catch {
          return false;
        }
      });
    } catch (e) {
      await stopMariadb(datadir, childPid);
      throw e;
    }
    return childPid;
  };
  let pid = await launch();
  const handle: MariadbHandle = {
    url, pid, datadir, socket, port,
    stop: () => stopMariadb(datadir, pid),
    async stopServer(o = {}) {
      if (!alive(pid)) return;
      process.kill(pid, o.hard ? 'SIGKILL' : 'SIGTERM');
      await waitUntil(`mariadbd ${pid} to exit`, 30_000, async () => !alive(pid));
    },
    async startAgain() {
      if (alive(pid)) throw new Error(`mariadbd ${pid} is still running`);
      pid = await launch();
      handle.pid = pid;
    },
  };
  return handle;
}

/** Stops the server whose datadir this is (pid from its pid file unless given) and removes the datadir. */
export async function stopMariadb(datadir: string, pid?: number): Promise<void> {
  if (pid === undefined) {
    const text = await fs.readFile(path.join(datadir, 'mysqld.pid'), 'utf8').catch(() => '');
    pid = Number(text.trim()) || undefined;
  }
  if (pid !== undefined && alive(pid)) {
    process.kill(pid, 'SIGTERM');
    await waitUntil(`mariadbd ${pid} to exit`, 30_000, async () => !alive(pid as number)).catch(() => {
      if (alive(pid as number)) process.kill(pid as number, 'SIGKILL');
    });
  }
  // Only ever remove a directory this helper made.
  if (path.basename(datadir).startsWith('mogfs-mariadb-')) {
    await fs.rm(datadir, { recursive: true, force: true });
  }
}

async function main(argv: string[]): Promise<void> {
  const [cmd, arg] = argv;
  if (cmd === 'start') {
    const h = await startMariadb({ detached: true });
    process.stdout.write(JSON.stringify({ url: h.url, pid: h.pid, datadir: h.datadir }) + '\n');
  } else if (cmd === 'stop' && arg) {
    await stopMariadb(arg);
  } else {
    process.stderr.write('usage: node mariadb.js start | stop <datadir>\n');
    process.exitCode = 2;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((e: unknown) => {
    process.stderr.write(`mariadb: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
}
