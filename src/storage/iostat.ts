/**
 * Device utilization for the side channel's `watch` command, which the
 * tracker's IOStatWatcher reads to prefer idle devices. The original ran
 * `iostat -dx 1`; we sample the kernel's io_ticks counter of the block device
 * under each dev<N> (/sys/dev/block/<maj>:<min>/stat) once a second and print
 * the same lines: `<devid>\t<util%>` per device, then `.`; `-` when unknown.
 */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { listDevices } from './usage';

type Listener = (report: string) => void;

interface Sample {
  ticks: number;
  at: number;
}

function majorMinor(dev: number): string {
  // glibc's gnu_dev_major/minor, within the range a JS number holds exactly.
  const hi = Math.floor(dev / 2 ** 32);
  const lo = dev >>> 0;
  const major = ((lo >>> 8) & 0xfff) | ((hi & 0xfffff000) >>> 0);
  const minor = (lo & 0xff) | ((lo >>> 12) & 0xfff00);
  return `${major}:${minor}`;
}

async function ioTicks(devDir: string): Promise<number | null> {
  try {
    const st = await stat(devDir);
    const text = await readFile(`/sys/dev/block/${majorMinor(st.dev)}/stat`, 'utf8');
    const fields = text.trim().split(/\s+/);
    const ticks = Number(fields[9]);
    return Number.isFinite(ticks) ? ticks : null;
  } catch {
    return null;
  }
}

export class IoStatReporter {
  private readonly listeners = new Set<Listener>();
  private readonly last = new Map<number, Sample>();
  private timer: NodeJS.Timeout | null = null;
  private busy = false;

  constructor(
    private readonly docroot: string,
    private readonly intervalMs = 1000,
  ) {}

  subscribe(fn: Listener): () => void {
    this.listeners.add(fn);
    if (!this.timer) {
      this.timer = setInterval(() => void this.sample(), this.intervalMs);
      this.timer.unref();
      void this.sample();
    }
    return () => {
      this.listeners.delete(fn);
      if (this.listeners.size === 0) this.stop();
    };
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.last.clear();
  }

  private async sample(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const devids = await listDevices(this.docroot).catch(() => [] as number[]);
      let report = '';
      for (const devid of devids) {
        const ticks = await ioTicks(path.join(this.docroot, `dev${devid}`));
        const now = Date.now();
        const prev = this.last.get(devid);
        let util = '-';
        if (ticks !== null) {
          if (prev && now > prev.at) {
            util = Math.min(100, ((ticks - prev.ticks) * 100) / (now - prev.at)).toFixed(2);
          }
          this.last.set(devid, { ticks, at: now });
        }
        // The first sample has no interval yet: report idle rather than nothing.
        if (util === '-' && ticks !== null) util = '0.00';
        report += `${devid}\t${util}\n`;
      }
      report += '.\n';
      for (const fn of this.listeners) fn(report);
    } finally {
      this.busy = false;
    }
  }
}
