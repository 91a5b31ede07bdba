/**
 * mogadm's edges, as a user meets them: where trackers come from (flag,
 * --config, ~/.mogilefs.conf), unreachable trackers, usage mistakes and
 * help — each a clear message and the original's exit code.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseConfigText, parseTrackers } from '../src/cli/config';
import { sprintf } from '../src/cli/mogadm/format';
import { startCluster } from './helpers/cluster';
import { mogadm } from './helpers/mogadm';
import type { Cluster } from './helpers/cluster';


/** A port on 127.0.0.1 that nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

async function portAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.setTimeout(1000, () => (s.destroy(), resolve(false)));
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

describe('mogadm helpers', () => {
  test('config lines: key = value, # comments, spaces around commas', () => {
    assert.deepEqual(parseConfigText('# comment\ntrackers = 10.0.0.1:7001, 10.0.0.2:7001  # two\n lib=/x\nnot a line\n'), {
      trackers: '10.0.0.1:7001, 10.0.0.2:7001',
      lib: '/x',
    });
    assert.deepEqual(parseTrackers('10.0.0.1:7001 , 10.0.0.2,'), ['10.0.0.1:7001', '10.0.0.2:7001']);
  });

  test('sprintf pads and rounds like Perl printf', () => {
    assert.equal(sprintf('[%2d] %-7s|%10.3f|%6.2f%%|%s', 3, 'dev1', 1.23456, 50, 'x'), '[ 3] dev1   |     1.235| 50.00%|x');
    assert.equal(sprintf('%-7.3f|%8s|%5s', 2, 'ab', 'toolongvalue'), '2.000  |      ab|toolongvalue');
  });
});

describe('mogadm usage and trackers', () => {
  let c: Cluster;
  let home: string;
  let dead: string;

  before(async () => {
    c = await startCluster();
    home = await fs.mkdtemp(path.join(os.tmpdir(), 'mogfs-mogadm-home-'));
    dead = `127.0.0.1:${await closedPort()}`;
  });
  after(async () => {
    await c?.stop();
    if (home) await fs.rm(home, { recursive: true, force: true });
  });

  test('no command prints the usage and exits 1, as the original', async () => {
    const r = await mogadm([], { HOME: home });
    assert.equal(r.code, 1);
    assert.match(r.stdout, /^Usage: {2}\(enter any command prefix, leaving off options, for further help\)\n/);
    assert.match(r.stdout, /\n {2}mogadm host \.\.\.\n {9}host add \.\.\. {14}Add a host to MogileFS\.\n/);
    const topic = await mogadm(['device'], { HOME: home });
    assert.equal(topic.code, 1);
    assert.match(topic.stdout, /^Help for 'device' command:\n/);
    const verb = await mogadm(['class', 'add', '--help'], { HOME: home });
    assert.equal(verb.code, 1);
    assert.match(verb.stdout, /^Help for 'class-add' command:\n/);
    assert.match(verb.stdout, /\n {6}--mindevcount=i {6}Minimum number of replicas\.\n/);
  });

  test('usage mistakes: one line on stderr, exit 1, nothing sent', async () => {
    const cases: [string[], RegExp][] = [
      [['host', 'add'], /^mogadm: missing required argument 'hostname' \(see "mogadm host add --help"\)\n$/],
      [['domain', 'list', 'extra'], /^mogadm: too many arguments for 'list'/],
      [['class', 'add', 'd', 'c', '--mindevcount=two'], /argument 'two' is invalid/],
      [['host', 'add', 'h', '--bogus=1'], /^mogadm: unknown option '--bogus=1'/],
      [['frobnicate'], /^mogadm: unknown command 'frobnicate' \(see "mogadm --help"\)\n$/],
      [['host', 'frob'], /^mogadm: unknown command 'frob'/],
    ];
    for (const [args, re] of cases) {
      const r = await mogadm([`--trackers=${c.trackers[0]}`, ...args], { HOME: home });
      assert.equal(r.code, 1, args.join(' '));
      assert.match(r.stderr, re);
      assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
    }
  });

  test('an unreachable tracker is a clear one-line error and exit 1', async () => {
    const list = await mogadm([`--trackers=${dead}`, 'host', 'list'], { HOME: home });
    assert.equal(list.code, 1);
    assert.equal(list.stdout, '');
    assert.match(list.stderr, new RegExp(`^Unable to retrieve host information from tracker\\(s\\): no tracker reachable at ${dead}.*ECONNREFUSED.*\\n$`));
    const add = await mogadm([`--trackers=${dead}`, 'domain', 'add', 'x'], { HOME: home });
    assert.equal(add.code, 1);
    assert.match(add.stderr, /^Error creating domain: no tracker reachable at /);
    const check = await mogadm([`--trackers=${dead}`, 'check'], { HOME: home });
    assert.equal(check.code, 1);
    assert.match(check.stdout, new RegExp(`^Checking trackers\\.\\.\\.\\n  ${dead} \\.\\.\\. REQUEST FAILURE \\(is the tracker up\\?\\)\\n`));
    assert.match(check.stderr, /^Unable to retrieve host information from tracker\(s\)\.\n$/);
    const bad = await mogadm(['--trackers=no-port-here', 'check'], { HOME: home });
    assert.equal(bad.code, 1);
    assert.match(bad.stdout, /\n {2}no-port-here \.\.\. INITIAL FAILURE \(bad configuration\?\)\n/);
    const badList = await mogadm(['--trackers=no-port-here', 'host', 'list'], { HOME: home });
    assert.equal(badList.code, 1);
    assert.match(badList.stderr, /^Unable to access MogileFS tracker\(s\): .*no-port-here/);
  });

  test('a dead tracker in the list is skipped for a live one', async () => {
    const r = await mogadm([`--trackers=${dead},${c.trackers[0]}`, 'domain', 'list'], { HOME: home });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /\n default {14}default /);
  });

  test('trackers from ~/.mogilefs.conf, --config over it, --trackers over both', async () => {
    await fs.writeFile(path.join(home, '.mogilefs.conf'), `# mogadm settings\ntrackers = ${c.trackers[0]}\n`);
    const fromHome = await mogadm(['domain', 'list'], { HOME: home });
    assert.equal(fromHome.code, 0, fromHome.stderr);
    assert.match(fromHome.stdout, /\n default {14}default /);

    const conf = path.join(home, 'other.conf');
    await fs.writeFile(conf, `trackers=${dead}\n`);
    const fromConfig = await mogadm(['--config', conf, 'domain', 'list'], { HOME: home });
    assert.equal(fromConfig.code, 1, 'the --config file wins over ~/.mogilefs.conf');
    assert.match(fromConfig.stderr, new RegExp(`no tracker reachable at ${dead}`));

    const flagWins = await mogadm([`--config=${conf}`, `--trackers=${c.trackers[0]}`, 'domain', 'list'], { HOME: home });
    assert.equal(flagWins.code, 0, flagWins.stderr);

    const missing = await mogadm(['--config', path.join(home, 'nope.conf'), 'domain', 'list'], { HOME: home });
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^cannot read config file .*nope\.conf: /);
    await fs.rm(path.join(home, '.mogilefs.conf'));
  });

  test('--trackers after the command words works too', async () => {
    const r = await mogadm(['domain', 'list', `--trackers=${c.trackers[0]}`], { HOME: home });
    assert.equal(r.code, 0, r.stderr);
  });

  test('no trackers anywhere: says how to give them, exit 1', async (t) => {
    if (existsSync('/etc/mogilefs/mogilefs.conf') || (await portAnswers(7001))) {
      t.skip('this machine has /etc/mogilefs/mogilefs.conf or a tracker on 127.0.0.1:7001');
      return;
    }
    const empty = await fs.mkdtemp(path.join(os.tmpdir(), 'mogfs-mogadm-empty-'));
    try {
      const r = await mogadm(['domain', 'list'], { HOME: empty });
      assert.equal(r.code, 1);
      assert.match(r.stderr, /^In order to use mogadm you need to say where your trackers are: .*trackers = .*--trackers=/);
      assert.equal(r.stderr.trimEnd().split('\n').length, 1);
    } finally {
      await fs.rm(empty, { recursive: true, force: true });
    }
  });
});
