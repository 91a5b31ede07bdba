/**
 * mogadm against a scripted tracker that answers like an original Perl
 * tracker for what ours does not run yet (`stats`, fsck, rebalance), so the
 * layouts of those verbs are checked on the original's wire replies.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';

const CLI = path.resolve(__dirname, '..', 'src', 'cli', 'mogadm.js');

function mogadm(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, MOGFS_LOG_LEVEL: 'silent' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const enc = (o: Record<string, string | number>): string =>
  Object.entries(o).map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`).join('&');

/** Replies by request line, as a MogileFS 2.x Perl tracker sends them. */
function reply(line: string): string {
  const [cmd, args = ''] = line.split(' ');
  const a = Object.fromEntries(new URLSearchParams(args));
  switch (cmd) {
    case 'stats':
      return `OK ${enc({
        devicescount: 2, devices1id: 2, devices1host: 'node1', devices1status: 'alive', devices1files: 7,
        devices2id: 10, devices2host: 'node2', devices2status: 'drain', devices2files: 5,
        fidmax: 42,
        filescount: 2, files1domain: 'photos', files1class: 'thumbs', files1files: 3, files2domain: 'default', files2class: 'default', files2files: 4,
        replicationcount: 2, replication1domain: 'photos', replication1class: 'thumbs', replication1devcount: 2, replication1files: 3,
        replication2domain: 'default', replication2class: 'default', replication2devcount: 1, replication2files: 4,
      })}`;
    case 'fsck_status':
      return `OK ${enc({ running: 1, host: 'tracker1', max_fid_checked: 50, end_fid: 200, start_time: 1000, current_time: 1100, max_logid: 2, policy_only: 0, num_NOPA: 3 })}`;
    case 'fsck_getlog':
      if (a.after_logid !== '0') return 'OK row_count=0';
      return `OK ${enc({ row_count: 2, row_1_logid: 1, row_1_utime: 1700000000, row_1_fid: 17, row_1_evcode: 'NOPA', row_1_devid: '', row_2_logid: 2, row_2_utime: 1700000001, row_2_fid: 18, row_2_evcode: 'MISS', row_2_devid: 3 })}`;
    case 'rebalance_status':
      return `OK ${enc({ state: 'completed=0 sdev_current=2 fids_queued=11' })}`;
    case 'rebalance_test':
      return `OK ${enc({ sdevs: '3,1', ddevs: '4' })}`;
    case 'server_settings':
      return `OK ${enc({ key_count: 2, key_1: 'rebal_host', value_1: 'tracker1', key_2: 'rebal_policy', value_2: 'from_devices=1,3' })}`;
    default:
      return 'ERR unknown_command Unknown+server+command';
  }
}

describe('mogadm against an original-style tracker', () => {
  let server: net.Server;
  let T: string;
  const sockets = new Set<net.Socket>();
  before(async () => {
    server = net.createServer((sock) => {
      sockets.add(sock);
      sock.on('close', () => sockets.delete(sock));
      let buf = '';
      sock.on('data', (d: Buffer) => {
        buf += d.toString();
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl).trim();
          buf = buf.slice(nl + 1);
          sock.write(`${reply(line)}\r\n`);
        }
      });
      sock.on('error', () => undefined);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    T = `127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  });
  after(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  });

  test('stats prints the tracker\'s counts in the original layout', async () => {
    const r = await mogadm([`--trackers=${T}`, 'stats']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, [
      'Fetching statistics...', '',
      'Statistics for devices...',
      '  device     host            files     status',
      '  ---------- ----------- ---------- ----------',
      '  dev2       node1               7      alive',
      '  dev10      node2               5      drain',
      '  ---------- ----------- ---------- ----------', '',
      'Statistics for file ids...',
      '  Max file id: 42', '',
      'Statistics for files...',
      '  domain               class           files',
      '  -------------------- ----------- ----------',
      '  default              default             4',
      '  photos               thumbs              3',
      '  -------------------- ----------- ----------', '',
      'Statistics for replication...',
      '  domain               class        devcount      files',
      '  -------------------- ----------- ---------- ----------',
      '  default              default             1          4',
      '  photos               thumbs              2          3',
      '  -------------------- ----------- ---------- ----------', '',
    ].join('\n'));
  });

  test('fsck status, printlog', async () => {
    const st = await mogadm([`--trackers=${T}`, 'fsck', 'status']);
    assert.equal(st.code, 0, st.stderr);
    assert.equal(st.stdout, [
      '',
      '    Running: Yes (on tracker1)',
      '     Status: 50 / 200 (25.00%)',
      '       Time: 1m (0 fids/s; 5m remain)',
      ' Check Type: Normal (check policy + files)',
      '',
      ' [num_NOPA]: 3',
      '', '',
    ].join('\n'));
    const log = await mogadm([`--trackers=${T}`, 'fsck', 'printlog']);
    assert.equal(log.code, 0, log.stderr);
    assert.equal(log.stdout, [
      'unixtime             event           fid      devid',
      '1700000000            NOPA            17          -',
      '1700000001            MISS            18          3',
      '',
    ].join('\n'));
  });

  test('rebalance status and test', async () => {
    const st = await mogadm([`--trackers=${T}`, 'rebalance', 'status']);
    assert.equal(st.code, 0, st.stderr);
    assert.equal(st.stdout, 'Rebalance is running\nRebalance status:\n' +
      '                completed = 0\n              fids_queued = 11\n             sdev_current = 2\n');
    const t = await mogadm([`--trackers=${T}`, 'rebalance', 'test']);
    assert.equal(t.code, 0, t.stderr);
    assert.equal(t.stdout, 'Tested rebalance policy...\nPolicy: from_devices=1,3\n\nSource devices:\n - 1\n - 3\nDestination devices:\n - 4\n');
  });

  test('a tracker without fsck says so, exit 1', async () => {
    const r = await mogadm([`--trackers=${T}`, 'fsck', 'start']);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, 'mogadm fsck start: not implemented yet by this tracker (unknown_command Unknown server command)\n');
  });
});
