/**
 * mogilefsd as operators run it: settings from a mogilefsd.conf in the
 * original's format, flags overriding them, Prometheus metrics that count
 * exactly what was sent, a pid file, JSON or pretty logs, exit 0 on SIGTERM.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './helpers/ports';
import { LineClient } from './helpers/tracker';
import { hasSample, httpGet, jsonLogs, sample, spawnDaemon, terminate } from './helpers/daemons';
import type { Daemon } from './helpers/daemons';

function addr(line: string, key: RegExp): { host: string; port: number } {
  const m = key.exec(line);
  assert.ok(m, `no address for ${key} in: ${line}`);
  return { host: m[1], port: Number(m[2]) };
}
const LISTEN = /listening ([\d.]+):(\d+)/;
const METRICS = /metrics=([\d.]+):(\d+)/;

async function stopCleanly(d: Daemon): Promise<void> {
  const r = await terminate(d);
  assert.deepEqual(r, { code: 0, signal: null }, d.stderr());
  assert.match(d.stderr(), /mogilefsd stopped/);
  assert.doesNotMatch(d.stderr(), /did not stop/);
}

describe('mogilefsd daemon', () => {
  let dir: string;
  let conf: string;
  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mogfs-daemons-'));
    conf = path.join(dir, 'mogilefsd.conf');
    await fs.writeFile(
      conf,
      [
        '# the original format: key = value, or key value',
        `db_dsn = DBI:SQLite:dbname=${path.join(dir, 'file.sqlite')}`,
        'listen = 127.0.0.1:0',
        'replicate_jobs 3',
        'delete_jobs = 2',
        'node_timeout = 7',
        'query_jobs = 20',
        'metrics = 127.0.0.1:0',
        `pidfile = ${path.join(dir, 'mogilefsd.pid')}`,
        'no_such_setting = 1',
        '',
      ].join('\n'),
    );
  });
  after(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  test('takes its settings from the config file', async () => {
    const d = spawnDaemon('mogilefsd', ['-c', conf]);
    try {
      const line = await d.ready;
      const t = addr(line, LISTEN);
      assert.equal(t.host, '127.0.0.1');
      assert.match(line, /db=sqlite/);
      assert.ok(METRICS.test(line), 'metrics key turned the endpoint on');
      await fs.access(path.join(dir, 'file.sqlite')); // db_dsn was used
      assert.equal(await fs.readFile(path.join(dir, 'mogilefsd.pid'), 'utf8'), `${d.child.pid}\n`);

      const logs = jsonLogs(d.stderr());
      const settings = logs.find((l) => l.msg === 'mogilefsd settings');
      assert.ok(settings, d.stderr());
      assert.equal(settings.replicateJobs, 3);
      assert.equal(settings.deleteJobs, 2);
      assert.equal(settings.nodeTimeoutMs, 7000);
      const warn = logs.find((l) => l.key === 'no_such_setting');
      assert.ok(warn, 'unknown key is warned about');
      assert.equal(warn.level, 40);
      assert.equal(warn.line, 10);
      assert.ok(!logs.some((l) => l.key === 'query_jobs'), 'known keys of the original are not called unknown');

      const c = await LineClient.connect(t.port);
      assert.equal(await c.send('create_domain domain=fromconf'), 'OK domain=fromconf');
      c.close();
    } finally {
      await stopCleanly(d);
    }
    await assert.rejects(fs.access(path.join(dir, 'mogilefsd.pid')), 'pid file removed at exit');
  });

  test('command line flags override the config file', async () => {
    const port = await freePort();
    const other = path.join(dir, 'flag.sqlite');
    const d = spawnDaemon('mogilefsd', [
      '--config', conf,
      '--listen', `127.0.0.1:${port}`,
      '--dsn', `DBI:SQLite:dbname=${other}`,
      '--replicate-jobs', '5',
      '--node_timeout', '3',
      '--metrics', 'off',
      '--pidfile', path.join(dir, 'flag.pid'),
    ]);
    try {
      const line = await d.ready;
      assert.equal(addr(line, LISTEN).port, port);
      assert.doesNotMatch(line, /metrics=/);
      await fs.access(other);
      await fs.access(path.join(dir, 'flag.pid'));
      const settings = jsonLogs(d.stderr()).find((l) => l.msg === 'mogilefsd settings');
      assert.ok(settings);
      assert.equal(settings.replicateJobs, 5);
      assert.equal(settings.deleteJobs, 2, 'keys without a flag still come from the file');
      assert.equal(settings.nodeTimeoutMs, 3000);
    } finally {
      await stopCleanly(d);
    }
  });

  test('metrics count each request by command and outcome', async () => {
    const d = spawnDaemon('mogilefsd', ['-s', '--db', `sqlite:${path.join(dir, 'metrics.sqlite')}`, '--listen', '127.0.0.1:0', '--metrics', '127.0.0.1:0']);
    try {
      const line = await d.ready;
      const m = addr(line, METRICS);
      const url = `http://127.0.0.1:${m.port}/metrics`;
      const before = (await httpGet(url)).body;
      const c = await LineClient.connect(addr(line, LISTEN).port);
      for (let i = 0; i < 7; i++) assert.equal(await c.send('noop'), 'OK ');
      assert.match(await c.send('no_such_command a=1'), /^ERR unknown_command/);
      assert.match(await c.send('no_such_command'), /^ERR unknown_command/);
      assert.equal(await c.send('create_domain domain=m'), 'OK domain=m');
      assert.match(await c.send('create_domain domain=m'), /^ERR domain_exists/);
      c.close();

      const res = await httpGet(url);
      assert.equal(res.status, 200);
      assert.match(res.type, /^text\/plain/);
      const after = res.body;
      const delta = (labels: Record<string, string>): number =>
        sample(after, 'mogfs_tracker_requests_total', labels) - sample(before, 'mogfs_tracker_requests_total', labels);
      assert.equal(delta({ command: 'noop', outcome: 'ok' }), 7);
      assert.equal(delta({ command: 'unknown', outcome: 'unknown_command' }), 2);
      assert.equal(delta({ command: 'create_domain', outcome: 'ok' }), 1);
      assert.equal(delta({ command: 'create_domain', outcome: 'domain_exists' }), 1);
      assert.equal(sample(after, 'mogfs_tracker_request_duration_seconds_count', { command: 'noop' }), 7);
      assert.equal(sample(after, 'mogfs_tracker_request_duration_seconds_bucket', { command: 'noop', le: '+Inf' }), 7);
      assert.ok(sample(after, 'mogfs_tracker_request_duration_seconds_sum', { command: 'noop' }) > 0);
      assert.ok(hasSample(after, 'mogfs_tracker_queue_depth', { queue: 'replicate' }), after);
      assert.ok(hasSample(after, 'mogfs_tracker_queue_depth', { queue: 'delete' }));
      assert.ok(hasSample(after, 'process_cpu_user_seconds_total'), 'default process metrics');
      assert.ok(hasSample(after, 'nodejs_heap_size_total_bytes'));
      // Names a client made up never become series.
      assert.doesNotMatch(after, /no_such_command/);

      assert.equal((await httpGet(`http://127.0.0.1:${m.port}/other`)).status, 404);
    } finally {
      await stopCleanly(d);
    }
  });

  test('logs are JSON when stderr is no terminal, pretty with MOGFS_LOG_PRETTY=1', async () => {
    const db = `sqlite:${path.join(dir, 'logs.sqlite')}`;
    const plain = spawnDaemon('mogilefsd', ['-s', '--db', db, '--listen', '127.0.0.1:0']);
    await plain.ready;
    await stopCleanly(plain);
    const lines = plain.stderr().trim().split('\n');
    assert.ok(lines.length >= 3, plain.stderr());
    for (const l of lines) assert.doesNotThrow(() => JSON.parse(l), l);
    assert.ok(jsonLogs(plain.stderr()).some((l) => l.msg === 'tracker listening' && l.name === 'mogilefsd'));

    const pretty = spawnDaemon('mogilefsd', ['-s', '--db', db, '--listen', '127.0.0.1:0'], { MOGFS_LOG_PRETTY: '1' });
    await pretty.ready;
    const r = await terminate(pretty);
    assert.equal(r.code, 0);
    const text = pretty.stderr();
    assert.match(text, /INFO.*\(mogilefsd\/\d+\): tracker listening/);
    assert.equal(jsonLogs(text).length, 0, 'no JSON lines when pretty');
  });

  test('a malformed config line, daemonize, or two listen addresses refuse to start', async () => {
    const bad = path.join(dir, 'bad.conf');
    await fs.writeFile(bad, `db_dsn = DBI:SQLite:dbname=${path.join(dir, 'bad.sqlite')}\n\n!!! nonsense\n`);
    const a = spawnDaemon('mogilefsd', ['-c', bad]);
    assert.equal((await a.exit).code, 1);
    assert.match(a.stderr(), /bad\.conf line 3: expected "key = value"/);

    const b = spawnDaemon('mogilefsd', ['-c', conf, '-D']);
    assert.equal((await b.exit).code, 1);
    assert.match(b.stderr(), /does not daemonize itself.*systemd/);

    const c = spawnDaemon('mogilefsd', ['-c', conf, '-l', '127.0.0.1:0', '-l', '127.0.0.2:0']);
    assert.equal((await c.exit).code, 1);
    assert.match(c.stderr(), /listen must be one address/);

    const missing = spawnDaemon('mogilefsd', ['-c', path.join(dir, 'nope.conf')]);
    assert.equal((await missing.exit).code, 1);
    assert.match(missing.stderr(), /cannot read config file .*nope\.conf/);
  });
});
