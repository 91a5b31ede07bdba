/**
 * The daemons' config rules without starting anything: the original's file
 * format, which file is read, flag > file > default precedence, the
 * original's defaults, when logs are pretty, and how the request-path
 * metric families render.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Registry } from 'prom-client';
import { chooseConfFile, emptyConf, parseConf, parseListenAddress } from '../src/common/conffile';
import { CounterFamily, HistogramFamily } from '../src/common/fastmetrics';
import { wantsPrettyLogs } from '../src/common/log';
import { resolveTrackerSettings } from '../src/cli/mogilefsd';
import { resolveStorageSettings } from '../src/cli/mogstored';
import { sample } from './helpers/daemons';

describe('config files', () => {
  test('key = value, key value, comments; later lines win; junk names its line', () => {
    const c = parseConf('# top\n  db_dsn = DBI:mysql:mogilefs:host=db1\nreplicate_jobs 4\nfoo.bar=1\n\ndb_pass = a#b\nreplicate_jobs = 6\n', 'x.conf');
    assert.equal(c.entries.get('db_dsn')?.value, 'DBI:mysql:mogilefs:host=db1');
    assert.equal(c.entries.get('foo.bar')?.value, '1');
    assert.equal(c.entries.get('db_pass')?.value, 'a#b', 'mogilefsd keeps # inside values');
    assert.deepEqual(c.entries.get('replicate_jobs'), { value: '6', line: 7 });
    const s = parseConf('docroot = /var/mogdata # the disks\n   # only a comment\n', 'm.conf', { inlineComments: true });
    assert.equal(s.entries.get('docroot')?.value, '/var/mogdata');
    assert.throws(() => parseConf('ok = 1\nlisten =\n', 'y.conf'), /y\.conf line 2: expected "key = value"/);
    assert.throws(() => parseConf('= 1\n', 'z.conf'), /z\.conf line 1/);
  });

  test('the default file is read when present, unless another is given or -s', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mogfs-conf-'));
    try {
      const def = path.join(dir, 'mogilefsd.conf');
      assert.equal(await chooseConfFile(undefined, def), undefined);
      await fs.writeFile(def, 'listen = 127.0.0.1:7001\n');
      assert.equal(await chooseConfFile(undefined, def), def);
      assert.equal(await chooseConfFile('/elsewhere.conf', def), '/elsewhere.conf');
      assert.equal(await chooseConfFile(undefined, def, true), undefined);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  test('listen addresses', () => {
    const d = { host: '127.0.0.1', what: 'listen', example: 'x' };
    assert.deepEqual(parseListenAddress('[::1]:7001', d), { host: '::1', port: 7001 });
    assert.deepEqual(parseListenAddress('7005', d), { host: '127.0.0.1', port: 7005 });
    assert.deepEqual(parseListenAddress('10.0.0.1', { ...d, port: 7010 }), { host: '10.0.0.1', port: 7010 });
    assert.throws(() => parseListenAddress('10.0.0.1', d), /must look like HOST:PORT/);
    assert.throws(() => parseListenAddress('h:70000', d), /must look like HOST:PORT/);
  });
});

describe('mogilefsd settings', () => {
  const file = (text: string): ReturnType<typeof parseConf> => parseConf(text, 'mogilefsd.conf');

  test("the original's defaults and DBI conventions", () => {
    const s = resolveTrackerSettings({}, file('db_dsn = DBI:mysql:mogilefs:host=db1;port=3307\ndb_pass = s3cret\n'));
    assert.equal(s.dsn, 'mysql://mogile:s3cret@db1:3307/mogilefs', 'db_user defaults to mogile');
    assert.deepEqual(s.listen, { host: '0.0.0.0', port: 7001 });
    assert.equal(s.metrics, undefined, 'metrics are off by default');
    assert.equal(s.workers, true);
    const p = resolveTrackerSettings({}, file('db_dsn = sqlite:/tmp/x.db\nlisten = 10.1.2.3\nconf_port = 7010\n'));
    assert.equal(p.dsn, 'sqlite:/tmp/x.db', 'our own DSN forms work in db_dsn');
    assert.deepEqual(p.listen, { host: '10.1.2.3', port: 7010 }, 'a listen host without a port takes conf_port');
  });

  test('flags win over the file, the file over defaults', () => {
    const conf = file('db_dsn = DBI:SQLite:dbname=/a.db\nlisten = 127.0.0.1:7001\nreplicate_jobs = 3\ndelete_jobs = 2\nnode_timeout = 4\nmetrics = 127.0.0.1:9701\n');
    const s = resolveTrackerSettings(
      { db: 'sqlite:/b.db', listen: ['0.0.0.0:7101'], replicateJobs: '9', node_timeout: '1.5', metrics: '0.0.0.0:9801', workers: false },
      conf,
    );
    assert.equal(s.dsn, 'sqlite:/b.db');
    assert.deepEqual(s.listen, { host: '0.0.0.0', port: 7101 });
    assert.equal(s.replicateJobs, 9);
    assert.equal(s.deleteJobs, 2);
    assert.equal(s.nodeTimeoutMs, 1500);
    assert.deepEqual(s.metrics, { host: '0.0.0.0', port: 9801 });
    assert.equal(s.workers, false);
    assert.equal(resolveTrackerSettings({ metrics: 'off' }, conf).metrics, undefined);
    assert.deepEqual(resolveTrackerSettings({}, conf).metrics, { host: '127.0.0.1', port: 9701 });
  });

  test('bad values and unknown keys', () => {
    assert.throws(() => resolveTrackerSettings({}, emptyConf()), /no database given/);
    const db = 'db_dsn = sqlite:/x.db\n';
    assert.throws(() => resolveTrackerSettings({}, file(db + 'replicate_jobs = many\n')), /replicate_jobs must be a whole number/);
    assert.throws(() => resolveTrackerSettings({}, file(db + 'node_timeout = 0\n')), /node_timeout must be a positive number/);
    assert.throws(() => resolveTrackerSettings({}, file(db + 'daemonize = 1\n')), /systemd/);
    const s = resolveTrackerSettings({}, file(db + 'query_jobs = 20\nmin_free_space = 100\ntypo_key = 1\n'));
    assert.deepEqual(s.unknownKeys, [{ key: 'typo_key', line: 4 }]);
  });
});

describe('mogstored settings', () => {
  const base = { mgmt: true };
  test("the original's defaults; flags over file", () => {
    const d = resolveStorageSettings(base, emptyConf());
    assert.deepEqual([d.http, d.mgmt, d.docroot], [{ host: '0.0.0.0', port: 7500 }, { host: '0.0.0.0', port: 7501 }, '/var/mogdata']);
    const conf = parseConf('httplisten = 10.0.0.5:7500\ndocroot = /disks\nserver = perlbal\nmetrics = 9750\n', 'mogstored.conf');
    const f = resolveStorageSettings(base, conf);
    assert.deepEqual(f.mgmt, { host: '10.0.0.5', port: 7501 }, 'the side channel follows the HTTP host');
    assert.deepEqual(f.metrics, { host: '127.0.0.1', port: 9750 });
    assert.deepEqual(f.unknownKeys, []);
    const o = resolveStorageSettings({ ...base, docroot: '/other', httplisten: '10.0.0.5:7600', mgmt: false }, conf);
    assert.deepEqual([o.docroot, o.http.port, o.mgmt], ['/other', 7600, null]);
  });

  test('timeouts for slow clients: defaults, seconds from the file, flags over file, bad values refused', () => {
    assert.deepEqual(resolveStorageSettings(base, emptyConf()).timeouts, { headersMs: 30_000, idleMs: 60_000, keepAliveMs: 30_000 });
    const conf = parseConf('headers_timeout = 5\nidle_timeout = 0.5   # half a second\nkeepalive_timeout = 2\n', 'mogstored.conf', { inlineComments: true });
    const f = resolveStorageSettings(base, conf);
    assert.deepEqual(f.timeouts, { headersMs: 5000, idleMs: 500, keepAliveMs: 2000 });
    assert.deepEqual(f.unknownKeys, []);
    assert.equal(resolveStorageSettings({ ...base, idleTimeout: '120' }, conf).timeouts.idleMs, 120_000);
    for (const bad of ['0', '-1', 'soon', 'Infinity']) {
      assert.throws(() => resolveStorageSettings({ ...base, idleTimeout: bad }, emptyConf()), /--idle-timeout \(idle_timeout\) must be a positive number of seconds/);
    }
  });
});

test('pretty logs: on a terminal or with MOGFS_LOG_PRETTY=1; MOGFS_LOG_PRETTY=0 wins', () => {
  assert.equal(wantsPrettyLogs({}, false), false);
  assert.equal(wantsPrettyLogs({}, true), true);
  assert.equal(wantsPrettyLogs({ MOGFS_LOG_PRETTY: '1' }, false), true);
  assert.equal(wantsPrettyLogs({ MOGFS_LOG_PRETTY: '0' }, true), false);
});

test('request-path metric families render as Prometheus counters and histograms', async () => {
  const registry = new Registry();
  const c = new CounterFamily(registry, 'x_requests_total', 'help');
  const h = new HistogramFamily(registry, 'x_seconds', 'help', [0.1, 1]);
  const ok = c.series({ command: 'noop', outcome: 'ok' });
  ok.value += 3;
  const s = h.series({ command: 'noop' });
  for (const v of [0.05, 0.1, 0.5, 2]) h.observe(s, v);
  const text = await registry.metrics();
  assert.match(text, /# TYPE x_requests_total counter/);
  assert.equal(sample(text, 'x_requests_total', { command: 'noop', outcome: 'ok' }), 3);
  assert.match(text, /# TYPE x_seconds histogram/);
  assert.equal(sample(text, 'x_seconds_bucket', { command: 'noop', le: '0.1' }), 2, 'le is inclusive');
  assert.equal(sample(text, 'x_seconds_bucket', { command: 'noop', le: '1' }), 3);
  assert.equal(sample(text, 'x_seconds_bucket', { command: 'noop', le: '+Inf' }), 4);
  assert.equal(sample(text, 'x_seconds_count', { command: 'noop' }), 4);
  assert.equal(sample(text, 'x_seconds_sum', { command: 'noop' }), 2.65);
  registry.resetMetrics();
  assert.equal(sample(await registry.metrics(), 'x_seconds_count', { command: 'noop' }), 0);
});
