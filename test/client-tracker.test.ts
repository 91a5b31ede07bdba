/**
 * TrackerClient against tiny scripted line servers on 127.0.0.1: request
 * encoding, ERR mapping, failover between dead and live trackers, the
 * dead-tracker cache, timeouts, and connection pooling under concurrency.
 */
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { TrackerClient, MogError } from '../src/client';

interface Scripted {
  addr: string;
  /** Every request line received (without CRLF). */
  lines: string[];
  /** Connections accepted so far. */
  accepted: number;
  close(): Promise<void>;
}

type Handler = (line: string, sock: net.Socket) => void;

const servers: Scripted[] = [];
after(async () => {
  for (const s of servers) await s.close();
});

/** A line server: calls `handler` for each request line; the handler writes replies itself. */
async function scripted(handler: Handler): Promise<Scripted> {
  const sockets = new Set<net.Socket>();
  const state: Scripted = { addr: '', lines: [], accepted: 0, close: async () => {} };
  const server = net.createServer((sock) => {
    state.accepted++;
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => {});
    let buf = '';
    sock.on('data', (d) => {
      buf += d.toString('utf8');
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i).replace(/\r$/, '');
        buf = buf.slice(i + 1);
        state.lines.push(line);
        handler(line, sock);
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  state.addr = `127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  state.close = () => new Promise<void>((r) => {
    for (const s of sockets) s.destroy();
    server.close(() => r());
  });
  servers.push(state);
  return state;
}

/** An address nobody listens on: bind a port, then let it go. */
async function deadAddr(): Promise<string> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return `127.0.0.1:${port}`;
}

const okEcho: Handler = (line, sock) => {
  const cmd = line.split(' ')[0];
  sock.write(`OK cmd=${cmd}&n=1\r\n`);
};

describe('TrackerClient', { timeout: 30_000 }, () => {
  test('encodes requests and decodes OK replies', async () => {
    const srv = await scripted((line, sock) => {
      if (line.startsWith('noop')) sock.write('OK \r\n');
      else sock.write('OK paths=2&path1=http://10.0.0.1:7500/dev1/0/000/000/0000000001.fid&path2=http%3A%2F%2Fx%2Fa+b\r\n');
    });
    const c = new TrackerClient({ trackers: [srv.addr] });
    try {
      const r = await c.call('get_paths', { domain: 'd', key: 'a b/ç&=', noverify: 1, zone: undefined });
      assert.equal(srv.lines[0], 'get_paths domain=d&key=a+b/%C3%A7%26%3D&noverify=1');
      assert.equal(r.paths, '2');
      assert.equal(r.path1, 'http://10.0.0.1:7500/dev1/0/000/000/0000000001.fid');
      assert.equal(r.path2, 'http://x/a b');
      assert.deepEqual({ ...(await c.call('noop')) }, {});
      assert.equal(srv.lines[1], 'noop ');
      assert.equal(c.lastTracker, srv.addr);
    } finally {
      c.close();
    }
  });

  test('ERR replies become MogError with the wire code and decoded text', async () => {
    const srv = await scripted((line, sock) => {
      if (line.startsWith('delete')) sock.write('ERR unknown_key unknown+key%21\r\n');
      else sock.write('ERR none_match none_match\r\n');
    });
    const c = new TrackerClient({ trackers: [srv.addr] });
    try {
      await assert.rejects(c.call('delete', { domain: 'd', key: 'k' }), (e: unknown) =>
        e instanceof MogError && e.code === 'unknown_key' && e.message === 'unknown key!');
      await assert.rejects(c.call('list_keys', { domain: 'd' }), (e: unknown) => e instanceof MogError && e.code === 'none_match');
      // The connection stays usable after ERR: both went over one socket.
      assert.equal(srv.accepted, 1);
    } finally {
      c.close();
    }
  });

  test('a garbage reply is a bad_reply error and the connection is dropped', async () => {
    let n = 0;
    const srv = await scripted((_line, sock) => {
      sock.write(n++ === 0 ? 'HELLO there\r\n' : 'OK a=1\r\n');
    });
    const c = new TrackerClient({ trackers: [srv.addr] });
    try {
      await assert.rejects(c.call('noop'), (e: unknown) => e instanceof MogError && e.code === 'bad_reply');
      assert.equal((await c.call('noop')).a, '1');
      assert.equal(srv.accepted, 2);
    } finally {
      c.close();
    }
  });

  test('fails over from a dead tracker to a live one, then skips the dead one for a while', async () => {
    const dead = await deadAddr();
    const live = await scripted(okEcho);
    const c = new TrackerClient({ trackers: [dead, live.addr], ordered: true });
    try {
      // create_close is not idempotent, but a refused connect never sent it: safe to go on.
      const r = await c.call('create_close', { fid: 1 });
      assert.equal(r.cmd, 'create_close');
      assert.equal(c.lastTracker, live.addr);
      assert.equal(c.connectionCounts()[dead], 0);
    } finally {
      c.close();
    }
  });

  test('the dead-tracker cache skips a failing tracker until deadRetryMs has passed', async () => {
    // Accepts, then hangs up on every request: up at TCP level, useless above it.
    const flaky = await scripted((_line, sock) => sock.destroy());
    const live = await scripted(okEcho);
    const c = new TrackerClient({ trackers: [flaky.addr, live.addr], ordered: true, deadRetryMs: 300 });
    try {
      assert.equal((await c.call('get_paths', { domain: 'd', key: 'k' })).cmd, 'get_paths');
      assert.equal(flaky.accepted, 1);
      assert.equal((await c.call('get_paths', { domain: 'd', key: 'k' })).cmd, 'get_paths');
      assert.equal(flaky.accepted, 1, 'a tracker marked dead must be skipped');
      await new Promise((r) => setTimeout(r, 400));
      assert.equal((await c.call('get_paths', { domain: 'd', key: 'k' })).cmd, 'get_paths');
      assert.equal(flaky.accepted, 2, 'after deadRetryMs the tracker is tried again');
      assert.equal(live.lines.length, 3);
    } finally {
      c.close();
    }
  });

  test('a non-idempotent command lost mid-request is not resent to another tracker', async () => {
    const flaky = await scripted((_line, sock) => sock.destroy());
    const live = await scripted(okEcho);
    const c = new TrackerClient({ trackers: [flaky.addr, live.addr], ordered: true });
    try {
      await assert.rejects(c.call('delete', { domain: 'd', key: 'k' }), (e: unknown) =>
        e instanceof MogError && e.code === 'tracker_io' && /may or may not have run/.test(e.message));
      assert.equal(live.lines.length, 0);
      // create_open is retried: a half-done one only leaves a tempfile row for the reaper.
      const c2 = new TrackerClient({ trackers: [flaky.addr, live.addr], ordered: true });
      assert.equal((await c2.call('create_open', { domain: 'd', key: 'k' })).cmd, 'create_open');
      c2.close();
    } finally {
      c.close();
    }
  });

  test('request timeout: non-idempotent commands fail with tracker_timeout, idempotent ones fail over', async () => {
    const silent = await scripted(() => {});
    const live = await scripted(okEcho);
    const c = new TrackerClient({ trackers: [silent.addr, live.addr], ordered: true, timeoutMs: 200 });
    try {
      await assert.rejects(c.call('rename', { domain: 'd', from_key: 'a', to_key: 'b' }), (e: unknown) =>
        e instanceof MogError && e.code === 'tracker_timeout');
      assert.equal(live.lines.length, 0);
      const c2 = new TrackerClient({ trackers: [silent.addr, live.addr], ordered: true, timeoutMs: 200 });
      assert.equal((await c2.call('list_keys', { domain: 'd' })).cmd, 'list_keys');
      c2.close();
      const only = new TrackerClient({ trackers: [silent.addr], timeoutMs: 200 });
      await assert.rejects(only.call('noop'), (e: unknown) => e instanceof MogError && e.code === 'tracker_timeout');
      only.close();
    } finally {
      c.close();
    }
  });

  test('no tracker reachable: a clear no_tracker error naming the trackers', async () => {
    const a = await deadAddr();
    const b = await deadAddr();
    const c = new TrackerClient({ trackers: [a, b] });
    try {
      await assert.rejects(c.call('noop'), (e: unknown) =>
        e instanceof MogError && e.code === 'no_tracker' && e.message.includes(a) && e.message.includes(b) &&
        e.message.includes('start mogilefsd or check --trackers'));
    } finally {
      c.close();
    }
  });

  test('8 concurrent callers get 8 connections; a smaller pool queues the rest', async () => {
    // Replies are held until 8 requests are in flight at once: a client that
    // serialised on one socket would never get there and the test would hang.
    let held: net.Socket[] = [];
    const barrier = await scripted((_line, sock) => {
      held.push(sock);
      if (held.length === 8) {
        for (const s of held) s.write('OK ok=1\r\n');
        held = [];
      }
    });
    const c = new TrackerClient({ trackers: [barrier.addr], poolSize: 8 });
    try {
      const rs = await Promise.all(Array.from({ length: 8 }, () => c.call('noop')));
      assert.equal(rs.length, 8);
      assert.equal(barrier.accepted, 8);
      assert.equal(c.connectionCounts()[barrier.addr], 8);
    } finally {
      c.close();
    }

    let inFlight = 0;
    let maxInFlight = 0;
    const slow = await scripted((_line, sock) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      setTimeout(() => {
        inFlight--;
        sock.write('OK ok=1\r\n');
      }, 5);
    });
    const small = new TrackerClient({ trackers: [slow.addr], poolSize: 3 });
    try {
      const rs = await Promise.all(Array.from({ length: 30 }, (_, i) => small.call('noop', { i })));
      assert.equal(rs.length, 30);
      assert.equal(slow.lines.length, 30);
      assert.ok(slow.accepted <= 3, `pool of 3 opened ${slow.accepted} connections`);
      assert.ok(maxInFlight <= 3);
    } finally {
      small.close();
    }
  });

  test('long replies arriving in pieces, and a tracker that hangs up between requests', async () => {
    const keys = Array.from({ length: 1000 }, (_, i) => `key_${i + 1}=dir/${'x'.repeat(200)}/${i}`);
    const reply = `OK key_count=1000&${keys.join('&')}\r\n`;
    const srv = await scripted((_line, sock) => {
      let off = 0;
      const step = (): void => {
        sock.write(reply.slice(off, off + 7000));
        off += 7000;
        if (off < reply.length) setImmediate(step);
        else sock.end(); // and hang up: the next call must reconnect
      };
      step();
    });
    const c = new TrackerClient({ trackers: [srv.addr] });
    try {
      for (let round = 0; round < 2; round++) {
        const r = await c.call('list_keys', { domain: 'd' });
        assert.equal(r.key_count, '1000');
        assert.equal(r.key_1000, `dir/${'x'.repeat(200)}/999`);
        await new Promise((res) => setTimeout(res, 20));
      }
      assert.equal(srv.accepted, 2);
    } finally {
      c.close();
    }
  });

  test('bad arguments and a closed client give clear errors', async () => {
    assert.throws(() => new TrackerClient({ trackers: [] }), (e: unknown) => e instanceof MogError && e.code === 'invalid_trackers');
    assert.throws(() => new TrackerClient({ trackers: ['localhost'] }), (e: unknown) =>
      e instanceof MogError && e.code === 'invalid_trackers' && /host:port/.test(e.message));
    const srv = await scripted(okEcho);
    const c = new TrackerClient({ trackers: [srv.addr] });
    await assert.rejects(c.call('bad cmd\r\nnoop'), (e: unknown) => e instanceof MogError && e.code === 'unknown_command');
    c.close();
    await assert.rejects(c.call('noop'), (e: unknown) => e instanceof MogError && e.code === 'client_closed');
    assert.equal(srv.lines.length, 0);
  });
});
