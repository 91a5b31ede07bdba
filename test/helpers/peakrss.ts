/**
 * Preloaded (`node -r .../peakrss.js`) into a process whose peak memory a
 * test or the bench measures: at exit it writes its peak resident set in KiB
 * (VmHWM of /proc/self/status; getrusage's maxrss elsewhere) to the file
 * named by MOGFS_PEAK_RSS_FILE. Read at exit, so no sampling can miss a peak.
 */
import fs from 'node:fs';
import path from 'node:path';

/** This file, compiled: what `-r` takes. */
export const PEAK_RSS_PRELOAD = path.join(__dirname, 'peakrss.js');

const file = process.env.MOGFS_PEAK_RSS_FILE;
if (file) {
  process.on('exit', () => {
    let kib = process.resourceUsage().maxRSS;
    try {
      const m = /^VmHWM:\s+(\d+) kB$/m.exec(fs.readFileSync('/proc/self/status', 'utf8'));
      if (m) kib = Number(m[1]);
    } catch {
      // No /proc: the rusage figure stands.
    }
    fs.writeFileSync(file, `${kib}\n`);
  });
}

/** The peak RSS (MiB) a preloaded process wrote, or null when it wrote none (killed, out of memory). */
export async function readPeakRss(file: string): Promise<number | null> {
  try {
    return Number((await fs.promises.readFile(file, 'utf8')).trim()) / 1024;
  } catch {
    return null;
  }
}
