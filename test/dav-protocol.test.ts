/**
 * `mogfs dav` on the wire: ranged reads served as ranges from the storage
 * node, conditional requests, lock tokens enforced on PUT/DELETE, dead
 * properties kept in our tables (seen after a restart and from a second
 * server), hrefs of odd names, chunked and aborted uploads.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { startCluster, storageBytesSent } from './helpers/cluster';
import type { Cluster } from './helpers/cluster';
import { dav, stopAllDav } from './helpers/dav';
import type { Dav } from './helpers/dav';

let c: Cluster;
let d: Dav;
before(async () => {
  c = await startCluster();
  d = await dav(c.trackers, { domain: 'default' });
});
after(async () => {
  await stopAllDav();
  await c?.stop();
});

const u = (p: string): string => d.url + p.replace(/^\//, '');

async function req(method: string, p: string, headers: Record<string, string> = {}, body?: string | Buffer): Promise<Response> {
  return fetch(u(p), { method, headers, body });
}

async function propfind(p: string, depth: string, body?: string): Promise<{ status: number; text: string }> {
  const r = await req('PROPFIND', p, { Depth: depth, 'Content-Type': 'application/xml' }, body);
  return { status: r.status, text: await r.text() };
}

test('a ranged GET reads only its range from the storage node', async () => {
  const data = randomBytes(24 << 20);
  assert.equal((await req('PUT', '/big.bin', {}, data)).status, 201);
  const before = await storageBytesSent(c);
  const r = await req('GET', '/big.bin', { Range: `bytes=${data.length - 4096}-` });
  assert.equal(r.status, 206);
  assert.equal(r.headers.get('content-range'), `bytes ${data.length - 4096}-${data.length - 1}/${data.length}`);
  assert.deepEqual(Buffer.from(await r.arrayBuffer()), data.subarray(data.length - 4096));
  const sent = (await storageBytesSent(c)) - before;
  // Reading from byte 0 would move all 24 MiB; the range and its read-ahead are far less.
  assert.ok(sent < 12 << 20, `storage nodes sent ${sent} bytes for a 4 KiB range`);

  const mid = await req('GET', '/big.bin', { Range: 'bytes=100-199' });
  assert.equal(mid.status, 206);
  assert.deepEqual(Buffer.from(await mid.arrayBuffer()), data.subarray(100, 200));
  const suffix = await req('GET', '/big.bin', { Range: 'bytes=-10' });
  assert.deepEqual(Buffer.from(await suffix.arrayBuffer()), data.subarray(data.length - 10));
  const beyond = await req('GET', '/big.bin', { Range: `bytes=${data.length}-` });
  assert.equal(beyond.status, 416);
  assert.equal(beyond.headers.get('content-range'), `bytes */${data.length}`);
  await beyond.arrayBuffer();
});

test('ETag and Last-Modified; If-None-Match and If-Modified-Since give 304, If-Match 412', async () => {
  assert.equal((await req('PUT', '/cond.txt', {}, 'version one')).status, 201);
  const g = await req('GET', '/cond.txt');
  assert.equal(await g.text(), 'version one');
  const etag = g.headers.get('etag') as string;
  const lm = g.headers.get('last-modified') as string;
  assert.match(etag, /^"[^"]+"$/);
  assert.ok(lm);
  assert.equal(g.headers.get('content-type'), 'text/plain');
  assert.equal((await req('GET', '/cond.txt', { 'If-None-Match': etag })).status, 304);
  assert.equal((await req('GET', '/cond.txt', { 'If-Modified-Since': lm })).status, 304);
  assert.equal((await req('PUT', '/cond.txt', { 'If-Match': '"stale"' }, 'lost')).status, 412);
  assert.equal((await req('PUT', '/cond.txt', { 'If-None-Match': '*' }, 'lost')).status, 412);
  assert.equal(await (await req('GET', '/cond.txt')).text(), 'version one');
  assert.equal((await req('PUT', '/cond.txt', { 'If-Match': etag }, 'version two')).status, 204);
  const g2 = await req('GET', '/cond.txt');
  assert.equal(await g2.text(), 'version two');
  assert.notEqual(g2.headers.get('etag'), etag);
});

async function lock(p: string, depth = '0', scope = 'exclusive'): Promise<string> {
  const r = await req('LOCK', p, { Depth: depth, Timeout: 'Second-60', 'Content-Type': 'application/xml' },
    `<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:${scope}/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner>test</D:owner></D:lockinfo>`);
  const text = await r.text();
  assert.ok(r.status === 200 || r.status === 201, `LOCK ${p}: ${r.status} ${text}`);
  const token = /^<(.+)>$/.exec(r.headers.get('lock-token') ?? '');
  assert.ok(token, 'a Lock-Token header');
  return token[1];
}

test('a locked file: PUT and DELETE without the token get 423 and change nothing; with it they work', async () => {
  assert.equal((await req('PUT', '/locked.txt', {}, 'original')).status, 201);
  const token = await lock('/locked.txt');
  assert.equal((await req('PUT', '/locked.txt', {}, 'intruder')).status, 423);
  assert.equal((await req('DELETE', '/locked.txt')).status, 423);
  assert.equal((await req('MOVE', '/locked.txt', { Destination: u('/moved.txt') })).status, 423);
  assert.equal((await req('PROPPATCH', '/locked.txt', {}, '<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><x:a xmlns:x="urn:t">1</x:a></D:prop></D:set></D:propertyupdate>')).status, 423);
  assert.equal(await (await req('GET', '/locked.txt')).text(), 'original');
  // The owner's request without the token is refused too: the token is what counts.
  assert.equal((await req('PUT', '/locked.txt', { If: '(<opaquelocktoken:not-the-token>)' }, 'intruder')).status, 412);
  assert.equal((await req('PUT', '/locked.txt', { If: `(<${token}>)` }, 'owner')).status, 204);
  assert.equal(await (await req('GET', '/locked.txt')).text(), 'owner');
  assert.equal((await req('UNLOCK', '/locked.txt', { 'Lock-Token': `<${token}>` })).status, 204);
  assert.equal((await req('DELETE', '/locked.txt')).status, 204);
});

test('a depth-infinity lock on a collection covers new members; the lock shows in PROPFIND lockdiscovery', async () => {
  assert.equal((await req('MKCOL', '/lc')).status, 201);
  const token = await lock('/lc', 'infinity');
  assert.equal((await req('PUT', '/lc/new.txt', {}, 'x')).status, 423);
  assert.equal((await req('MKCOL', '/lc/sub')).status, 423);
  const pf = await propfind('/lc', '0', '<D:propfind xmlns:D="DAV:"><D:prop><D:lockdiscovery/></D:prop></D:propfind>');
  assert.equal(pf.status, 207);
  assert.ok(pf.text.includes(token), pf.text);
  assert.equal((await req('PUT', '/lc/new.txt', { If: `(<${token}>)` }, 'x')).status, 201);
  assert.equal((await req('UNLOCK', '/lc', { 'Lock-Token': `<${token}>` })).status, 204);
  assert.equal((await req('PUT', '/lc/new.txt', {}, 'y')).status, 204);
});

const PATCH = '<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:"><D:set><D:prop>'
  + '<x:color xmlns:x="urn:example:a">blue<x:shade>dark</x:shade></x:color><y:color xmlns:y="urn:example:b">red</y:color>'
  + '</D:prop></D:set></D:propertyupdate>';

test('dead properties keep their namespace and survive a restart and a second server', async () => {
  assert.equal((await req('PUT', '/props.txt', {}, 'p')).status, 201);
  const r = await req('PROPPATCH', '/props.txt', { 'Content-Type': 'application/xml' }, PATCH);
  assert.equal(r.status, 207);
  assert.match(await r.text(), /200 OK/);
  const ask = '<D:propfind xmlns:D="DAV:"><D:prop><a:color xmlns:a="urn:example:a"/><b:color xmlns:b="urn:example:b"/><c:none xmlns:c="urn:example:c"/></D:prop></D:propfind>';
  const check = async (url: string): Promise<void> => {
    const pf = await fetch(url + 'props.txt', { method: 'PROPFIND', headers: { Depth: '0' }, body: ask });
    const text = await pf.text();
    assert.equal(pf.status, 207);
    assert.match(text, /<x:color xmlns:x="urn:example:a"[^>]*>blue<x:shade>dark<\/x:shade><\/x:color>/, text);
    assert.match(text, /<y:color xmlns:y="urn:example:b"[^>]*>red<\/y:color>/, text);
    assert.match(text, /<D:propstat><D:prop><none xmlns="urn:example:c"\/><\/D:prop><D:status>HTTP\/1.1 404/, text);
  };
  await check(d.url);
  const second = await dav(c.trackers, { domain: 'default' });
  await check(second.url);
  await second.stop();
  await d.stop();
  d = await dav(c.trackers, { domain: 'default' });
  await check(d.url);
  // A protected DAV: property fails the whole request: nothing of it is applied.
  const bad = await req('PROPPATCH', '/props.txt', {}, '<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><z:n xmlns:z="urn:z">1</z:n><D:getetag>x</D:getetag></D:prop></D:set></D:propertyupdate>');
  const badText = await bad.text();
  assert.equal(bad.status, 207);
  assert.match(badText, /403 Forbidden/);
  assert.match(badText, /424 Failed Dependency/);
  const pf = await propfind('/props.txt', '0', '<D:propfind xmlns:D="DAV:"><D:prop><z:n xmlns:z="urn:z"/></D:prop></D:propfind>');
  assert.match(pf.text, /404 Not Found/);
});

test('Windows\' Win32LastModifiedTime sets the mtime PROPFIND and GET show', async () => {
  assert.equal((await req('PUT', '/win.txt', {}, 'w')).status, 201);
  const when = 'Wed, 01 Jan 2020 10:00:00 GMT';
  const r = await req('PROPPATCH', '/win.txt', {}, `<D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:schemas-microsoft-com:"><D:set><D:prop><Z:Win32LastModifiedTime>${when}</Z:Win32LastModifiedTime><Z:Win32FileAttributes>00000020</Z:Win32FileAttributes></D:prop></D:set></D:propertyupdate>`);
  assert.equal(r.status, 207);
  assert.doesNotMatch(await r.text(), /HTTP\/1.1 [45]/);
  const pf = await propfind('/win.txt', '0');
  assert.match(pf.text, new RegExp(`<D:getlastmodified>${when}</D:getlastmodified>`));
  assert.equal((await req('HEAD', '/win.txt')).headers.get('last-modified'), when);
});

test('names with # ? % space and non-ASCII: hrefs are percent-encoded and lead back to the file', async () => {
  assert.equal((await req('MKCOL', '/odd')).status, 201);
  const names = ['a#b.txt', 'what?.txt', '100%.txt', 'two words.txt', 'grüße ✓.txt'];
  for (const n of names) assert.equal((await req('PUT', `/odd/${encodeURIComponent(n)}`, {}, n)).status, 201, n);
  const pf = await propfind('/odd', '1');
  const hrefs = [...pf.text.matchAll(/<D:href>([^<]*)<\/D:href>/g)].map((m) => m[1]);
  for (const h of hrefs) assert.doesNotMatch(h, /[#? ]/, h);
  const decoded = hrefs.map((h) => decodeURIComponent(h.replace(/&amp;/g, '&')));
  for (const n of names) {
    assert.ok(decoded.includes(`/odd/${n}`), `${n} in ${decoded.join(', ')}`);
    const h = hrefs[decoded.indexOf(`/odd/${n}`)];
    assert.equal(await (await fetch(d.url + h.slice(1))).text(), n);
  }
});

test('a chunked PUT without Content-Length (as Finder sends) is stored whole', async () => {
  const parts = [randomBytes(70_000), randomBytes(1), randomBytes(300_000)];
  const body = new ReadableStream<Uint8Array>({
    start(ctrl) {
      for (const p of parts) ctrl.enqueue(new Uint8Array(p));
      ctrl.close();
    },
  });
  const r = await fetch(u('/chunked.bin'), { method: 'PUT', body, duplex: 'half' } as RequestInit);
  assert.equal(r.status, 201);
  assert.deepEqual(Buffer.from(await (await req('GET', '/chunked.bin')).arrayBuffer()), Buffer.concat(parts));
});

/** Sends a PUT that promises `total` bytes, sends `sent`, and hangs up. */
function abortedPut(p: string, total: number, sent: number): Promise<void> {
  return new Promise((resolve) => {
    const r = http.request(u(p), { method: 'PUT', headers: { 'Content-Length': total } });
    r.on('error', () => resolve());
    r.write(randomBytes(sent), () => setTimeout(() => { r.destroy(); resolve(); }, 200));
  });
}

test('a PUT whose client goes away mid-body changes nothing', async () => {
  assert.equal((await req('PUT', '/keep.txt', {}, 'the original')).status, 201);
  await abortedPut('/keep.txt', 5 << 20, 2 << 20);
  await abortedPut('/never.txt', 5 << 20, 100_000);
  // The server notices the hang-up at once; give it a moment to drop the spool.
  for (let i = 0; i < 20 && (await req('GET', '/never.txt')).status !== 404; i++) await new Promise((r) => setTimeout(r, 100));
  assert.equal(await (await req('GET', '/keep.txt')).text(), 'the original');
  assert.equal((await req('GET', '/never.txt')).status, 404);
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(await (await req('GET', '/keep.txt')).text(), 'the original');
  assert.equal((await req('GET', '/never.txt')).status, 404);
});

test('errors: PUT into a missing collection 409, a method WebDAV has no use for 405, malformed XML 400, a fragment 400', async () => {
  assert.equal((await req('PUT', '/no/such/dir.txt', {}, 'x')).status, 409);
  assert.equal((await req('PATCH', '/odd')).status, 405);
  assert.equal((await req('PROPFIND', '/', { Depth: '0' }, '<D:propfind xmlns:D="DAV:"><D:prop>')).status, 400);
  assert.equal((await propfind('/', 'infinity')).status, 403);
  const frag = await new Promise<number>((resolve) => {
    http.request({ host: '127.0.0.1', port: d.port, path: '/odd#x', method: 'DELETE' }, (res) => { res.resume(); resolve(res.statusCode ?? 0); }).end();
  });
  assert.equal(frag, 400);
  assert.equal((await propfind('/odd', '0')).status, 207);
});

test('locks hold across bridge processes and expire after their timeout', async () => {
  const other = await dav(c.trackers, { domain: 'default' });
  assert.equal((await req('PUT', '/shared.txt', {}, 'one')).status, 201);
  const token = await lock('/shared.txt');
  const put = (url: string, headers: Record<string, string> = {}): Promise<Response> => fetch(`${url}shared.txt`, { method: 'PUT', headers, body: 'two' });
  assert.equal((await put(other.url)).status, 423);
  assert.equal((await fetch(`${other.url}shared.txt`, { method: 'DELETE' })).status, 423);
  const pf = await fetch(`${other.url}shared.txt`, { method: 'PROPFIND', headers: { Depth: '0' } });
  assert.ok((await pf.text()).includes(token));
  assert.equal((await put(other.url, { If: `(<${token}>)` })).status, 204);
  assert.equal((await fetch(`${other.url}shared.txt`, { method: 'UNLOCK', headers: { 'Lock-Token': `<${token}>` } })).status, 204);
  assert.equal((await put(d.url)).status, 204);

  // A lock taken for a second is gone after it: no token needed then.
  const r = await req('LOCK', '/shared.txt', { Timeout: 'Second-1', 'Content-Type': 'application/xml' },
    '<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockinfo>');
  assert.equal(r.status, 200);
  assert.match(await r.text(), /<D:timeout>Second-1<\/D:timeout>/);
  assert.equal((await put(other.url)).status, 423);
  let status = 423;
  for (let i = 0; i < 40 && status === 423; i++) {
    await new Promise((res) => setTimeout(res, 100));
    status = (await put(other.url)).status;
  }
  assert.equal(status, 204);
  await other.stop();
});

test('WebDAV and the gateway show the same files: written through one, read through the other', async () => {
  const { gatewayOn } = await import('./helpers/gateway');
  const gw = await gatewayOn(c.trackers, ['/=default,rw']);
  try {
    const viaDav = randomBytes(300_000);
    assert.equal((await req('MKCOL', '/both')).status, 201);
    assert.equal((await req('PUT', '/both/from dav.bin', {}, viaDav)).status, 201);
    const g = await fetch(`${gw.url}/both/from%20dav.bin`);
    assert.equal(g.status, 200);
    assert.deepEqual(Buffer.from(await g.arrayBuffer()), viaDav);
    const davHead = await req('HEAD', '/both/from dav.bin');
    assert.equal(g.headers.get('last-modified'), davHead.headers.get('last-modified'));
    assert.equal(g.headers.get('content-length'), davHead.headers.get('content-length'));

    const viaGateway = randomBytes(50_000);
    assert.equal((await fetch(`${gw.url}/both/from%20gateway.bin`, { method: 'PUT', body: viaGateway })).status, 201);
    let got: Response | null = null;
    // WebDAV trusts its listing of /both for --cache-time (1 s): the new file shows within it.
    for (let i = 0; i < 30; i++) {
      got = await req('GET', '/both/from gateway.bin');
      if (got.status === 200) break;
      await got.arrayBuffer();
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(got?.status, 200);
    assert.deepEqual(Buffer.from(await (got as Response).arrayBuffer()), viaGateway);
  } finally {
    await gw.close();
  }
});

test('a large PUT streams to the storage nodes without a spool copy; GETs meanwhile get the stored version whole', async () => {
  // A spool of 1 MiB: a PUT that went through the spool could not hold 12 MiB.
  const small = await dav(c.trackers, { domain: 'default', args: ['--spool-limit', '1M'] });
  try {
    const v1 = randomBytes(6 << 20);
    const v2 = randomBytes(12 << 20);
    assert.equal((await fetch(`${small.url}stream.bin`, { method: 'PUT', body: v1 })).status, 201);
    // v2 goes up in two halves with a pause between; a GET in the pause reads v1, all of it.
    let finish: () => void = () => undefined;
    let halfSent: () => void = () => undefined;
    const half = new Promise<void>((resolve) => { halfSent = resolve; });
    const put = new Promise<number>((resolve, reject) => {
      const r = http.request(`${small.url}stream.bin`, { method: 'PUT', headers: { 'Content-Length': v2.length } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      r.on('error', reject);
      r.write(v2.subarray(0, 8 << 20), () => {
        finish = () => r.end(v2.subarray(8 << 20));
        halfSent();
      });
    });
    await half;
    assert.equal((await fetch(`${small.url}stream.bin`, { method: 'HEAD' })).headers.get('content-length'), String(v1.length));
    const during = await fetch(`${small.url}stream.bin`, { headers: { 'Accept-Encoding': 'identity' } });
    assert.equal(during.status, 200);
    assert.deepEqual(Buffer.from(await during.arrayBuffer()), v1);
    finish();
    assert.equal(await put, 204);
    assert.deepEqual(Buffer.from(await (await fetch(`${small.url}stream.bin`)).arrayBuffer()), v2);
  } finally {
    await small.stop();
  }
});
