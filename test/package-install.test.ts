// The npm package as an operator and an application developer get it: `npm
// pack` (prepack builds), `npm install -g` of the tarball into a temporary
// prefix, a cluster started with the installed `mogfs up`, a file stored and
// fetched with the installed MogileFS-Utils commands, and a project of its
// own that installs the tarball and uses `mogfs/client` from TypeScript,
// CommonJS and ESM.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { freePort, freePortPair } from './helpers/ports';

const repo = path.resolve(__dirname, '..', '..');
const tsc = path.join(repo, 'node_modules', 'typescript', 'bin', 'tsc');

let tmp = '';
let tarball = '';
let prefix = '';
let up: ChildProcess | null = null;
let tracker = '';

/** The environment of a user's shell: none of the npm_* settings `npm test` runs us under. */
function userEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  for (const k of Object.keys(env)) if (/^npm_/i.test(k)) delete env[k];
  delete env.MOGFS_TRACKERS;
  delete env.MOGFS_DOMAIN;
  return env;
}

interface Ran { stdout: string; stderr: string }

function run(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<Ran> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { cwd: opts.cwd ?? tmp, env: opts.env ?? userEnv(), timeout: opts.timeoutMs ?? 120_000, maxBuffer: 64 << 20 },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`${cmd} ${args.join(' ')} failed: ${err.message}\n${stdout}\n${stderr}`));
        else resolve({ stdout, stderr });
      });
  });
}

const installed = (name: string): string => path.join(prefix, 'bin', name);

before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'mogfs-package-'));
  // `npm pack` runs prepack (the build) and prints the tarball's name last.
  const packed = await run('npm', ['pack', '--pack-destination', tmp], { cwd: repo, timeoutMs: 300_000 });
  tarball = path.join(tmp, packed.stdout.trim().split('\n').pop()!);
  prefix = path.join(tmp, 'prefix');
  // As docs/OPERATIONS.md says: better-sqlite3 builds (or fetches) its binding,
  // mogfs's postinstall builds the patched FUSE binding where it can.
  await run('npm', ['install', '-g', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund',
    '--allow-scripts=mogfs,better-sqlite3', tarball], { timeoutMs: 600_000 });
});

after(async () => {
  if (up && up.exitCode === null && up.signalCode === null) {
    const exited = new Promise((r) => up!.once('exit', r));
    up.kill('SIGINT');
    const timer = setTimeout(() => up!.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  }
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

test('the tarball holds compiled code, declarations and launchers, and no tests or sources', async () => {
  const { stdout } = await run('tar', ['tzf', tarball]);
  const files = stdout.split('\n').filter(Boolean).map((f) => f.replace(/^package\//, ''));
  for (const f of ['package.json', 'README.md', 'bin/mogfs.js', 'bin/mogupload.js', 'bin/mogstats.js', 'dist/src/cli/mogilefsd.js',
    'dist/src/client/index.js', 'dist/src/client/index.d.ts', 'scripts/build-fuse.js', 'docs/CLIENT.md',
    'docs/OPERATIONS.md', 'docs/systemd/mogilefsd.service']) {
    assert.ok(files.includes(f), `${f} is missing from the tarball`);
  }
  const unwanted = files.filter((f) => f.startsWith('test/') || f.startsWith('src/') || f.startsWith('dist/test/') ||
    f.endsWith('.map') || (f.endsWith('.ts') && !f.endsWith('.d.ts')) || f.includes('tsbuildinfo'));
  assert.deepEqual(unwanted, []);
});

test('npm install -g puts the daemons, mogadm, mogfs and the MogileFS-Utils commands on PATH, without dev dependencies', async () => {
  const names = ['mogilefsd', 'mogstored', 'mogadm', 'mogfs', 'mogupload', 'mogfetch', 'mogdelete', 'mogrename',
    'mogfileinfo', 'moglistkeys', 'moglistfids', 'mogstats'];
  for (const n of names) assert.ok(existsSync(installed(n)), `${n} is not in ${prefix}/bin`);
  const pkg = path.join(prefix, 'lib', 'node_modules', 'mogfs');
  const deps = await readdir(path.join(pkg, 'node_modules'));
  assert.ok(!deps.includes('typescript'), 'typescript was installed with the package');
  for (const n of ['mogilefsd', 'mogstored']) {
    const { stdout } = await run(installed(n), ['--help']);
    assert.match(stdout, new RegExp(`Usage: ${n}`));
  }
  // mogadm, as the original, answers --help with its usage and exit status 1.
  await assert.rejects(run(installed('mogadm'), ['--help']), /mogadm check +Check the state of the MogileFS world/);
  const { stdout } = await run(installed('mogrename'), ['--help']);
  assert.match(stdout, /--old_key <key>/);
});

test('the installed mogfs mount either has the patched FUSE binding or says what to run', async () => {
  const binding = path.join(prefix, 'lib', 'node_modules', 'mogfs', 'dist', 'src', 'fuse', 'binding.js');
  const probe = `try { require(${JSON.stringify(binding)}).loadFuse(); console.log('loaded'); } catch (e) { console.log(e.message); }`;
  const { stdout } = await run(process.execPath, ['-e', probe]);
  if (stdout.trim() !== 'loaded') {
    const script = path.join(prefix, 'lib', 'node_modules', 'mogfs', 'scripts', 'build-fuse.js');
    assert.ok(stdout.includes(`node ${script}`), `the refusal does not name the build script of the installed package: ${stdout}`);
  }
});

test('the installed mogfs up serves; mogupload and mogfetch store and read a file', async () => {
  const trackerPort = await freePort();
  const storagePort = await freePortPair();
  tracker = `127.0.0.1:${trackerPort}`;
  up = spawn(installed('mogfs'), ['up', '--no-mount', '--no-dav', '--no-gateway', '--data', path.join(tmp, 'data'),
    '--tracker-port', String(trackerPort), '--storage-port', String(storagePort)], { cwd: tmp, env: userEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  up.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  up.stderr!.on('data', (d: Buffer) => { out += d.toString(); });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ready line within 90 s: ${out}`)), 90_000);
    up!.stdout!.on('data', () => { if (/ready/.test(out)) { clearTimeout(timer); resolve(); } });
    up!.once('exit', (code) => { clearTimeout(timer); reject(new Error(`mogfs up exited ${code} before ready: ${out}`)); });
  });

  const body = Buffer.from('installed from a tarball\n'.repeat(500));
  await writeFile(path.join(tmp, 'in.txt'), body);
  const flags = [`--trackers=${tracker}`, '--domain=default'];
  await run(installed('mogupload'), [...flags, '--key=/docs/in.txt', `--file=${path.join(tmp, 'in.txt')}`]);
  await run(installed('mogfetch'), [...flags, '--key=/docs/in.txt', `--file=${path.join(tmp, 'out.txt')}`]);
  assert.deepEqual(await readFile(path.join(tmp, 'out.txt')), body);
  const listed = await run(installed('moglistkeys'), [...flags, '--key_prefix=/docs/']);
  assert.equal(listed.stdout, '/docs/in.txt\n');
});

const TS_CONSUMER = `import { MogileFS, MogileFSAdmin, MogError, isMogError } from 'mogfs/client';
import type { FileInfo, StoreResult } from 'mogfs/client';

async function main(): Promise<void> {
  const mogc = new MogileFS({ trackers: [process.argv[2]], domain: 'default', timeoutMs: 5000 });
  const stored: StoreResult = await mogc.storeBuffer('app/ts.txt', Buffer.from('typed'));
  const info: FileInfo = await mogc.fileInfo('app/ts.txt');
  const admin = new MogileFSAdmin({ trackers: [process.argv[2]] });
  const domains = (await admin.getDomains()).map((d) => d.name);
  admin.close();
  let code = '';
  try {
    await mogc.getBuffer('app/missing');
  } catch (e) {
    if (isMogError(e)) code = e.code;
    if (!(e instanceof MogError)) throw e;
  }
  await mogc.close();
  console.log(JSON.stringify({ fid: stored.fid, length: info.length, domains, code }));
}
void main();
`;

const CJS_CONSUMER = `const { MogileFS } = require('mogfs/client');
const { Readable } = require('node:stream');
(async () => {
  const mogc = new MogileFS({ trackers: [process.argv[2]], domain: 'default' });
  await mogc.storeStream('app/cjs.txt', Readable.from([Buffer.from('0123456789')]), { size: 10 });
  const chunks = [];
  for await (const c of await mogc.get('app/cjs.txt', { range: { start: 2, end: 5 } })) chunks.push(c);
  await mogc.close();
  console.log(Buffer.concat(chunks).toString());
})();
`;

const ESM_CONSUMER = `import { MogileFS } from 'mogfs/client';
const mogc = new MogileFS({ trackers: [process.argv[2]], domain: 'default' });
await mogc.storeBuffer('app/esm.txt', Buffer.from('esm'));
const { keys } = await mogc.listKeys('app/');
console.log(keys.join(','), (await mogc.getBuffer('app/esm.txt')).toString());
await mogc.close();
`;

test('a project that installs the tarball uses mogfs/client from TypeScript, CommonJS and ESM', async () => {
  assert.ok(tracker, 'needs the cluster of the previous test');
  const app = path.join(tmp, 'app');
  const typesNode = JSON.parse(await readFile(path.join(repo, 'node_modules', '@types', 'node', 'package.json'), 'utf8')).version as string;
  // The client needs neither native binding: a library user can deny their builds.
  await mkdir(app);
  await writeFile(path.join(app, 'package.json'), JSON.stringify({
    name: 'mogfs-consumer', private: true, allowScripts: { 'better-sqlite3': false, 'fuse-native': false },
  }));
  await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', tarball, `@types/node@${typesNode}`], { cwd: app, timeoutMs: 300_000 });
  await writeFile(path.join(app, 'use.ts'), TS_CONSUMER);
  await writeFile(path.join(app, 'use.cjs'), CJS_CONSUMER);
  await writeFile(path.join(app, 'use.mjs'), ESM_CONSUMER);
  await writeFile(path.join(app, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', target: 'ES2022', strict: true, outDir: 'out', types: ['node'] },
    files: ['use.ts'],
  }));
  // Node16+ resolution reads the exports map; the older `node` resolution reads typesVersions.
  await run(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: app });
  await run(process.execPath, [tsc, '--noEmit', '--strict', '--module', 'commonjs', '--moduleResolution', 'node', '--types', 'node', 'use.ts'], { cwd: app });

  const ts = JSON.parse((await run(process.execPath, ['out/use.js', tracker], { cwd: app })).stdout);
  assert.ok(ts.fid > 0);
  assert.equal(ts.length, 5);
  assert.ok(ts.domains.includes('default'));
  assert.equal(ts.code, 'unknown_key');
  assert.equal((await run(process.execPath, ['use.cjs', tracker], { cwd: app })).stdout, '2345\n');
  assert.equal((await run(process.execPath, ['use.mjs', tracker], { cwd: app })).stdout, 'app/cjs.txt,app/esm.txt,app/ts.txt esm\n');
  // Only the documented entry point is public.
  await assert.rejects(run(process.execPath, ['-e', "require('mogfs/dist/src/cli/up.js')"], { cwd: app }), /ERR_PACKAGE_PATH_NOT_EXPORTED/);
});
