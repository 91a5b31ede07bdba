/**
 * Where mogadm finds its trackers, as the original does: --trackers, else a
 * `trackers = host:port, host:port` line in the --config file,
 * ~/.mogilefs.conf or /etc/mogilefs/mogilefs.conf (read by the tools' one
 * config loader, src/cli/config.ts), else a tracker answering on
 * 127.0.0.1:7001. mogadm also reads `timeout` and `verbose` from there.
 */
import { connect } from 'node:net';
import { loadClientConfig } from '../config';
import { fail, TEXT } from './session';

export interface GlobalFlags {
  trackers?: string;
  config?: string;
  lib?: string;
  verbose?: boolean;
}

export interface MogadmSettings {
  trackers: string[];
  verbose: boolean;
  timeoutMs: number;
}

const LOCAL_TRACKER = { host: '127.0.0.1', port: 7001 };
/** The original's admin timeout: long enough for the tracker's slowest admin lock (fsck status). */
const DEFAULT_TIMEOUT_SEC = 15;

async function localTrackerAnswers(): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect(LOCAL_TRACKER);
    const done = (ok: boolean): void => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(1000, () => done(false));
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

export async function resolveSettings(flags: GlobalFlags, home = process.env.HOME): Promise<MogadmSettings> {
  let loaded;
  try {
    loaded = await loadClientConfig({ trackers: flags.trackers, conf: flags.config }, { ...process.env, HOME: home });
  } catch (e) {
    fail((e as Error).message);
  }
  const conf = loaded.file;
  // Taken as written (no default port added): mogadm check reports a
  // portless tracker as a bad configuration, as the original does.
  let trackers = (flags.trackers ?? process.env.MOGFS_TRACKERS ?? conf.trackers ?? '')
    .split(',').map((t) => t.trim()).filter((t) => t !== '');
  if (trackers.length === 0) {
    if (!(await localTrackerAnswers())) fail(TEXT.no_trackers);
    trackers = [`${LOCAL_TRACKER.host}:${LOCAL_TRACKER.port}`];
  }
  const verboseConf = conf.verbose !== undefined && conf.verbose !== '0' && conf.verbose !== '';
  const timeoutSec = /^\d+$/.test(conf.timeout ?? '') && Number(conf.timeout) > 0 ? Number(conf.timeout) : DEFAULT_TIMEOUT_SEC;
  return { trackers, verbose: flags.verbose === true || verboseConf, timeoutMs: timeoutSec * 1000 };
}
