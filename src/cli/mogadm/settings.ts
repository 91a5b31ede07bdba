/**
 * mogadm settings list|set: the tracker's server settings table, minus the
 * rebalance bookkeeping keys (rebal_*) that `mogadm rebalance settings` shows.
 */
import { byString, sprintf } from './format';
import { failWith } from './session';
import type { Session } from './session';
import type { TopSpec, VerbInput } from './spec';

export async function fetchSettings(s: Session): Promise<Record<string, string>> {
  try {
    return await s.admin.serverSettings();
  } catch (e) {
    failWith(`can't get settings`, e);
  }
}

async function list(s: Session): Promise<void> {
  const ss = await fetchSettings(s);
  for (const k of Object.keys(ss).sort(byString)) {
    if (k.startsWith('rebal')) continue;
    s.print(sprintf('%25s = %-s\n', k, ss[k]));
  }
}

async function set(s: Session, { args }: VerbInput): Promise<void> {
  try {
    await s.admin.setServerSetting(args.key, args.value);
  } catch (e) {
    failWith('', e);
  }
  s.ok();
}

export const settingsCommand: TopSpec = {
  name: 'settings',
  des: 'Change/list server settings.',
  verbs: {
    list: { des: 'List all server settings', run: list },
    set: {
      des: "Set server setting 'key' to 'value'.",
      args: [{ name: 'key' }, { name: 'value' }],
      run: set,
    },
  },
};
