/**
 * mogadm rebalance start|stop|reset|status|settings|test|policy: moving files
 * off full devices onto emptier ones, run by the tracker's rebalance job.
 */
import { byString, sprintf } from './format';
import { jobCall } from './jobs';
import { fetchSettings } from './settings';
import type { Session } from './session';
import type { TopSpec, VerbInput } from './spec';

function simple(action: 'start' | 'stop' | 'reset', done: string) {
  return async (s: Session): Promise<void> => {
    await jobCall(`rebalance ${action}`, () => s.admin.rebalance(action));
    s.ok(done);
  };
}

async function status(s: Session): Promise<void> {
  const res = await jobCall('rebalance status', () => s.admin.rebalance('status'));
  const ss = await fetchSettings(s);
  s.line(ss.rebal_host ? 'Rebalance is running' : 'Rebalance is stopped');
  s.line('Rebalance status:');
  const pairs = (res.state ?? '').split(/\s+/).filter((p) => p !== '').sort(byString);
  for (const p of pairs) {
    const eq = p.indexOf('=');
    s.print(sprintf('%25s = %-s\n', eq < 0 ? p : p.slice(0, eq), eq < 0 ? '' : p.slice(eq + 1)));
  }
}

async function test(s: Session): Promise<void> {
  const res = await jobCall('rebalance test', () => s.admin.rebalance('test'));
  const ss = await fetchSettings(s);
  s.line('Tested rebalance policy...');
  s.line(`Policy: ${ss.rebal_policy ?? ''}`);
  s.line();
  const devs = (v: string | undefined): string[] => (v ?? '').split(',').filter((d) => d !== '').sort(byString);
  s.line('Source devices:');
  for (const d of devs(res.sdevs)) s.line(` - ${d}`);
  s.line('Destination devices:');
  for (const d of devs(res.ddevs)) s.line(` - ${d}`);
}

async function policy(s: Session, { opts }: VerbInput): Promise<void> {
  const p = typeof opts.options === 'string' ? opts.options : '';
  await jobCall('rebalance policy', () => s.admin.rebalanceSetPolicy(p));
  s.ok('changed policy setting');
}

async function settings(s: Session): Promise<void> {
  const ss = await fetchSettings(s);
  for (const k of Object.keys(ss).sort(byString)) {
    if (!k.startsWith('rebal_') || k === 'rebal_state') continue;
    s.print(sprintf('%25s = %-s\n', k, ss[k]));
  }
}

export const rebalanceCommand: TopSpec = {
  name: 'rebalance',
  des: 'Control file rebalancing operations.',
  verbs: {
    start: { des: 'Start a rebalance job', run: simple('start', 'rebalance started') },
    stop: { des: 'Stop a rebalance job', run: simple('stop', 'rebalance stopped') },
    status: { des: 'Show status of current rebalance job', run: status },
    settings: { des: 'Display rebalance settings', run: settings },
    test: { des: 'Show what devices the current policy would match', run: test },
    reset: { des: 'Reset an existing policy', run: simple('reset', 'rebalance reset') },
    policy: {
      des: 'Add or adjust the current policy',
      opts: [{ name: 'options', type: 'string', des: 'Policy string (see docs/wiki for details)' }],
      run: policy,
    },
  },
};
