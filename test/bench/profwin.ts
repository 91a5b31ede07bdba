/**
 * A daemon's V8 CPU profile (`--cpu-prof`, as MOGFS_PROFILE_DIR makes
 * `mogfs up` write them) cut to one phase of a bench: the phase's window
 * comes from BENCH_PHASES (stock.ts), whose clock (`process.hrtime`, in µs)
 * is the one V8 stamps its samples with. Prints the functions with the most
 * self time and the most inclusive time in that window.
 *
 *   node dist/test/bench/profwin.js <phases file> <phase text> <profile>...
 */
import { readFile } from 'node:fs/promises';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

const TOP_SELF = 25;
const TOP_INCLUSIVE = 40;

/** `name file:line`, the file shortened to what tells it apart (a package, or our dist/src path). */
function label(n: ProfileNode): string {
  const url = n.callFrame.url.replace(/.*\/(node_modules\/[^/]+\/.*|dist\/src\/.*|node:.*)$/, '$1');
  return `${n.callFrame.functionName || '(anonymous)'} ${url}:${n.callFrame.lineNumber}`;
}

function summarize(p: Profile, windows: [number, number][]): { busyUs: number; self: Map<string, number>; inclusive: Map<string, number> } {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const add = (m: Map<string, number>, k: string, v: number): void => void m.set(k, (m.get(k) ?? 0) + v);
  let busyUs = 0;
  let t = p.startTime;
  p.samples.forEach((id, i) => {
    const dt = p.timeDeltas[i] ?? 0;
    t += dt;
    if (!windows.some(([a, b]) => t >= a && t <= b)) return;
    const node = byId.get(id);
    if (!node || node.callFrame.functionName === '(idle)') return;
    busyUs += dt;
    add(self, label(node), dt);
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const k = label(byId.get(at) as ProfileNode);
      if (!seen.has(k)) add(inclusive, k, dt);
      seen.add(k);
    }
  });
  return { busyUs, self, inclusive };
}

async function main(): Promise<void> {
  const [phasesFile, phase, ...profiles] = process.argv.slice(2);
  if (!phasesFile || !phase || profiles.length === 0) {
    throw new Error('usage: profwin.js <BENCH_PHASES file> <phase text> <profile.cpuprofile>...');
  }
  const windows = (await readFile(phasesFile, 'utf8')).split('\n')
    .map((l) => l.split('\t'))
    .filter((f) => f.length === 4 && `${f[0]} ${f[1]}`.includes(phase))
    .map((f): [number, number] => [Number(f[2]), Number(f[3])]);
  if (windows.length === 0) throw new Error(`no phase matching "${phase}" in ${phasesFile}`);
  for (const file of profiles) {
    const p = JSON.parse(await readFile(file, 'utf8')) as Profile;
    const daemon = p.nodes.map((n) => n.callFrame.url).find((u) => /cli\/\w+\.js$/.test(u))?.replace(/.*\//, '') ?? '?';
    const { busyUs, self, inclusive } = summarize(p, windows);
    console.log(`== ${file} (${daemon}): ${(busyUs / 1000).toFixed(0)} ms busy in ${windows.length} window(s)`);
    const show = (m: Map<string, number>, n: number): void => {
      for (const [k, v] of [...m].sort((a, b) => b[1] - a[1]).slice(0, n)) console.log(`  ${((100 * v) / Math.max(1, busyUs)).toFixed(1).padStart(5)}%  ${k}`);
    };
    console.log(' self:');
    show(self, TOP_SELF);
    console.log(' inclusive:');
    show(inclusive, TOP_INCLUSIVE);
  }
}

main().catch((e: unknown) => {
  console.error((e as Error).message);
  process.exit(1);
});
