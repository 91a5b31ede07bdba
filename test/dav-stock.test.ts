/**
 * `mogfs dav` against a tracker without our extensions (as a stock MogileFS
 * tracker answers): files, collections, moves and locks still work; dead
 * properties, which need our attribute table, are refused per property.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCluster } from './helpers/cluster';
import type { Cluster } from './helpers/cluster';
import { dav, stopAllDav } from './helpers/dav';
import type { Dav } from './helpers/dav';

let c: Cluster;
let d: Dav;
before(async () => {
  c = await startCluster({ tracker: { extensions: false } });
  d = await dav(c.trackers, { domain: 'default' });
});
after(async () => {
  await stopAllDav();
  await c?.stop();
});

test('files, collections, MOVE and locks work; PROPPATCH answers 207 with 403 for each property', async () => {
  const u = (p: string): string => d.url + p;
  assert.equal((await fetch(u('dir'), { method: 'MKCOL' })).status, 201);
  assert.equal((await fetch(u('dir/a.txt'), { method: 'PUT', body: 'stock' })).status, 201);
  assert.equal((await fetch(u('dir/a.txt'), { method: 'MOVE', headers: { Destination: u('dir/b.txt') } })).status, 201);
  assert.equal(await (await fetch(u('dir/b.txt'))).text(), 'stock');
  assert.equal((await c.client.getBuffer('dir/b.txt')).toString(), 'stock');
  const pf = await fetch(u('dir'), { method: 'PROPFIND', headers: { Depth: '1' } });
  assert.equal(pf.status, 207);
  assert.match(await pf.text(), /<D:href>\/dir\/b\.txt<\/D:href>.*<D:getcontentlength>5<\/D:getcontentlength>/s);
  const pp = await fetch(u('dir/b.txt'), { method: 'PROPPATCH', body: '<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><x:a xmlns:x="urn:x">1</x:a></D:prop></D:set></D:propertyupdate>' });
  assert.equal(pp.status, 207);
  assert.match(await pp.text(), /403 Forbidden/);
  const lock = await fetch(u('dir/b.txt'), { method: 'LOCK', body: '<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockinfo>' });
  assert.equal(lock.status, 200);
  await lock.text();
  assert.equal((await fetch(u('dir/b.txt'), { method: 'DELETE' })).status, 423);
  const token = lock.headers.get('lock-token') as string;
  assert.equal((await fetch(u('dir/b.txt'), { method: 'DELETE', headers: { If: `(${token})` } })).status, 204);
});
