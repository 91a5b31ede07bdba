// The side channel (mgmt port): what the original tracker asks and how it
// expects the answers, plus bad lines that must not break the connection.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { writeFile, mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { startTestStorage, connectSideChannel, type TestStorage, type SideChannelClient } from './helpers/storage';
import { waitFor } from './helpers/multitracker';
import { fidPathOnDevice } from '../src/common/fidpath';
import { createSideChannel } from '../src/storage/sidechannel';
import { IoStatReporter } from '../src/storage/iostat';
import { createLogger } from '../src/common/log';

describe('storage node side channel', () => {
  let ts: TestStorage;
  let sc: SideChannelClient;
  const data = randomBytes(3 * 1024 * 1024 + 17);
  const fid = fidPathOnDevice(1, 1);

  before(async () => {
    ts = await startTestStorage({ devices: [1, 2] });
    const file = path.join(ts.docroot, fid);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, data);
    assert.ok(ts.node.mgmtPort);
    sc = await connectSideChannel(ts.node.mgmtPort);
  });
  after(async () => {
    sc.close();
    await ts.cleanup();
  });

  test('size answers "<uri> <bytes>", or -1 when missing', async () => {
    assert.equal(await sc.ask(`size ${fid}`), `${fid} ${data.length}`);
    assert.equal(await sc.ask(`size ${fidPathOnDevice(1, 2)}`), `${fidPathOnDevice(1, 2)} -1`);
    assert.equal(await sc.ask(`size ${fidPathOnDevice(7, 2)}`), `${fidPathOnDevice(7, 2)} -1`, 'unknown device is missing');
  });

  test('md5 answers "<uri> md5=<hex>" (the tracker matches exactly that), or md5=-1', async () => {
    const hex = createHash('md5').update(data).digest('hex');
    assert.equal(await sc.ask(`md5 ${fid}`), `${fid} md5=${hex}`);
    assert.equal(await sc.ask(`md5 ${fidPathOnDevice(2, 9)}`), `${fidPathOnDevice(2, 9)} md5=-1`);
  });

  test('bare \\n line endings and pipelined requests answer in order', async () => {
    sc.send(`size ${fid}\nsize ${fidPathOnDevice(1, 3)}\nmd5 ${fid}\n`);
    const out = await sc.readUntil(/md5=[0-9a-f]{32}\r\n/);
    const lines = out.trimEnd().split('\r\n');
    assert.deepEqual(lines.slice(0, 2), [`${fid} ${data.length}`, `${fidPathOnDevice(1, 3)} -1`]);
    assert.match(lines[2], /^\/dev1\/.* md5=[0-9a-f]{32}$/);
  });

  test('malformed lines get an error line and the connection stays usable', async () => {
    assert.equal(await sc.ask('size /dev1/../etc/passwd'), 'ERROR: uri invalid (contains ..)');
    assert.match(await sc.ask('frobnicate'), /^ERROR: unknown command/);
    assert.match(await sc.ask('size'), /^ERROR/);
    assert.match(await sc.ask('size a b'), /^ERROR/);
    assert.match(await sc.ask('md5 relative/path'), /^ERROR: uri invalid/);
    assert.match(await sc.ask('size /etc/passwd'), /^ERROR: uri invalid/);
    sc.send('x'.repeat(20_000) + '\r\n');
    assert.equal((await sc.readUntil(/\r\n/)).trim(), 'ERROR: line too long');
    assert.equal(await sc.ask(`size ${fid}`), `${fid} ${data.length}`);
  });

  test('delete (ours) removes a file: "<uri> deleted", or "<uri> missing"; what may not be deleted is an error', async () => {
    const doomed = fidPathOnDevice(2, 5);
    const file = path.join(ts.docroot, doomed);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, 'bytes');
    assert.equal(await sc.ask(`delete ${doomed}`), `${doomed} deleted`);
    await assert.rejects(stat(file), { code: 'ENOENT' });
    assert.equal(await sc.ask(`delete ${doomed}`), `${doomed} missing`);
    assert.equal(await sc.ask(`delete ${fidPathOnDevice(7, 5)}`), `${fidPathOnDevice(7, 5)} missing`, 'unknown device');
    await mkdir(path.join(ts.docroot, 'dev2', 'adir.fid'));
    assert.match(await sc.ask('delete /dev2/adir.fid'), /^ERROR: uri invalid \(.*is a directory/);
    assert.match(await sc.ask('delete /dev2/usage'), /^ERROR: uri invalid/);
    assert.match(await sc.ask('delete /dev2'), /^ERROR: uri invalid/);
    assert.equal(await sc.ask('delete /dev2/../dev1/x.fid'), 'ERROR: uri invalid (contains ..)');
    assert.match(await sc.ask('delete'), /^ERROR: usage: delete/);
    assert.ok((await stat(path.join(ts.docroot, 'dev2', 'usage'))).isFile());
    assert.ok((await stat(path.join(ts.docroot, 'dev2', 'adir.fid'))).isDirectory());
    assert.equal(await sc.ask(`size ${fid}`), `${fid} ${data.length}`, 'the connection stays usable');
  });

  test('pipelined deletes run side by side and are answered in order, between other answers', async () => {
    const uris = Array.from({ length: 40 }, (_, i) => fidPathOnDevice(2, 100 + i));
    for (const u of uris) {
      await mkdir(path.dirname(path.join(ts.docroot, u)), { recursive: true });
      await writeFile(path.join(ts.docroot, u), u);
    }
    // Every other one is asked twice: the second finds it missing.
    const lines = uris.flatMap((u, i) => (i % 2 ? [`delete ${u}`, `size ${fid}`, `delete ${u}`] : [`delete ${u}`]));
    sc.send(lines.join('\n') + '\n');
    const out = (await sc.readUntil(new RegExp(`${uris[uris.length - 1]} missing\r\n$`))).trimEnd().split('\r\n');
    const want = uris.flatMap((u, i) => (i % 2 ? [`${u} deleted`, `${fid} ${data.length}`, `${u} missing`] : [`${u} deleted`]));
    assert.deepEqual(out, want);
    for (const u of uris) await assert.rejects(stat(path.join(ts.docroot, u)), { code: 'ENOENT' });
  });

  test('watch streams "<devid>\\t<util>" lines ended by "."', async () => {
    const w = await connectSideChannel(ts.node.mgmtPort as number);
    try {
      w.send('watch\n');
      const report = await w.readUntil(/^\.\n/m);
      const lines = report.split('\n').filter(Boolean);
      assert.equal(lines[lines.length - 1], '.');
      const devs = lines.slice(0, -1).map((l) => l.split('\t'));
      assert.deepEqual(devs.map((d) => d[0]), ['1', '2']);
      for (const [, util] of devs) assert.match(util, /^(-|\d+\.\d\d)$/);
      // And it keeps coming.
      assert.match(await w.readUntil(/^\.\n/m), /^1\t/);
    } finally {
      w.close();
    }
  });
});

describe('side channel backpressure', () => {
  let docroot: string;
  let server: net.Server;
  const accepted: net.Socket[] = [];
  before(async () => {
    docroot = await mkdtemp(path.join(os.tmpdir(), 'mogfs-sidechannel-'));
    await mkdir(path.join(docroot, 'dev1'));
    // The channel itself, so the test can look at its end of the connection.
    server = createSideChannel(docroot, new IoStatReporter(docroot), createLogger('sidechannel-test'));
    server.on('connection', (s: net.Socket) => accepted.push(s));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });
  after(async () => {
    for (const s of accepted) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await rm(docroot, { recursive: true, force: true });
  });

  test('a client that pipelines without reading is not read further; once it reads, every answer comes in order', async () => {
    const port = (server.address() as net.AddressInfo).port;
    const client = net.connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      client.once('connect', resolve);
      client.once('error', reject);
    });
    try {
      // Each 2-byte line is answered with 24 bytes: 600,000 of them unread would be 14 MB held by the node.
      const lines = 600_000;
      client.pause();
      client.write('x\n'.repeat(lines));
      await waitFor('the side channel to stop reading a client that does not read', async () => accepted[0]?.isPaused() === true, 20_000);
      const node = accepted[0];
      assert.ok(node.writableLength < 4 * 1024 * 1024, `${node.writableLength} bytes of answers queued for a client that does not read`);
      // Reading now drains it all, in order, and the connection still answers.
      let got = 0;
      let rest = '';
      let wrong = '';
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`only ${got} of ${lines} answers arrived`)), 60_000);
        client.setEncoding('latin1');
        client.on('data', (chunk: string) => {
          const all = rest + chunk;
          const parts = all.split('\r\n');
          rest = parts.pop() as string;
          for (const p of parts) if (p !== 'ERROR: unknown command' && !wrong) wrong = p;
          got += parts.length;
          if (got >= lines) {
            clearTimeout(timer);
            resolve();
          }
        });
        client.resume();
      });
      assert.equal(wrong, '');
      assert.equal(got, lines);
    } finally {
      client.destroy();
    }
  });
});
