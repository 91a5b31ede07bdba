import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  decodeArgs, durl, encodeArgs, eurl, formatErr, formatOk, formatRequest, parseReply, parseRequest, MogError,
} from '../src/protocol';

test('eurl keeps the characters MogileFS::Util keeps and encodes the rest', () => {
  assert.equal(eurl('http://127.0.0.1:7500/dev1/0/000/000/0000000001.fid'), 'http://127.0.0.1:7500/dev1/0/000/000/0000000001.fid');
  assert.equal(eurl('a b&c=d'), 'a+b%26c%3Dd');
  assert.equal(eurl('100%'), '100%25');
  assert.equal(eurl('a,b_c-d.e\\f'), 'a,b_c-d.e\\f');
  assert.equal(eurl('é'), '%C3%A9');
  assert.equal(eurl(42), '42');
});

test('durl decodes + and %XX, keeps a stray % literally', () => {
  assert.equal(durl('a+b%26c'), 'a b&c');
  assert.equal(durl('%C3%A9'), 'é');
  assert.equal(durl('100%'), '100%');
  assert.equal(durl('%zz'), '%zz');
  assert.equal(durl('%4'), '%4');
  assert.equal(durl('%41%42'), 'AB');
});

test('args round-trip through encode/decode, including awkward values', () => {
  const args = { key: 'images/2024/a b+c&d=e%.jpg', domain: 'default', empty: '', utf: 'naïve/日本.png' };
  assert.deepEqual({ ...decodeArgs(encodeArgs(args)) }, args);
});

test('decodeArgs: empty string, missing "=", and later duplicates winning', () => {
  assert.deepEqual({ ...decodeArgs('') }, {});
  assert.deepEqual({ ...decodeArgs('a&b=1') }, { a: '', b: '1' });
  assert.deepEqual({ ...decodeArgs('a=1&a=2') }, { a: '2' });
  assert.deepEqual({ ...decodeArgs('a=1&&b=2') }, { a: '1', b: '2' });
});

test('parseRequest lowercases the command and splits args', () => {
  const r = parseRequest('GET_PATHS domain=d&key=k%20x');
  assert.equal(r.command, 'get_paths');
  assert.deepEqual({ ...r.args }, { domain: 'd', key: 'k x' });
  assert.equal(parseRequest('noop').command, 'noop');
  assert.deepEqual({ ...parseRequest('noop').args }, {});
  assert.throws(() => parseRequest(''), (e: unknown) => e instanceof MogError && e.code === 'unknown_command');
  assert.throws(() => parseRequest('bad!cmd a=1'), (e: unknown) => e instanceof MogError);
});

test('reply formatting matches the wire: OK args, ERR code text', () => {
  assert.equal(formatOk({}), 'OK \r\n');
  assert.equal(formatOk({ paths: 1, path1: 'http://h:1/dev1/x.fid' }), 'OK paths=1&path1=http://h:1/dev1/x.fid\r\n');
  assert.equal(formatErr('unknown_key', 'unknown key'), 'ERR unknown_key unknown+key\r\n');
  assert.equal(formatErr('none_match'), 'ERR none_match none_match\r\n');
  assert.equal(formatRequest('noop'), 'noop \r\n');
  assert.equal(formatRequest('get_paths', { domain: 'd', key: 'a b' }), 'get_paths domain=d&key=a+b\r\n');
});

test('parseReply understands OK, ERR and garbage', () => {
  assert.deepEqual(parseReply('OK paths=0\r\n'), { ok: true, args: Object.assign(Object.create(null), { paths: '0' }) });
  const ok = parseReply('OK \r\n');
  assert.equal(ok.ok, true);
  const err = parseReply('ERR unknown_key unknown+key\r\n');
  assert.deepEqual(err, { ok: false, code: 'unknown_key', message: 'unknown key' });
  const bad = parseReply('HELLO');
  assert.equal(bad.ok, false);
  assert.equal(bad.ok === false && bad.code, 'bad_reply');
});
