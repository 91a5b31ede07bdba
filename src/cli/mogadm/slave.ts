/**
 * mogadm slave list|add|modify|delete: the database replicas trackers read
 * from, kept in server settings as MogileFS::Admin keeps them: `slave_keys`
 * lists the keys (each optionally `key=weight`), `slave_<key>` holds
 * "dsn|username|password".
 */
import { byString } from './format';
import { fail, failWith } from './session';
import type { Session } from './session';
import type { OptSpec, TopSpec, VerbInput } from './spec';

/** slave_keys as key -> weight text ('' when none was given), in its order. */
function parseKeys(value: string | undefined): Map<string, string> {
  const keys = new Map<string, string>();
  for (const part of (value ?? '').split(',')) {
    const m = /^\s*([^=\s]+)\s*(?:=\s*(\S*))?\s*$/.exec(part);
    if (m) keys.set(m[1], m[2] ?? '');
  }
  return keys;
}

function formatKeys(keys: Map<string, string>): string {
  return [...keys].map(([k, w]) => (w !== '' && w !== '1' ? `${k}=${w}` : k)).join(',');
}

async function settings(s: Session): Promise<Record<string, string>> {
  try {
    return await s.admin.serverSettings();
  } catch (e) {
    failWith("can't get settings", e);
  }
}

async function put(s: Session, key: string, value: string, what: string): Promise<void> {
  try {
    await s.admin.setServerSetting(key, value);
  } catch (e) {
    failWith(what, e);
  }
}

async function list(s: Session): Promise<void> {
  const ss = await settings(s);
  for (const key of [...parseKeys(ss.slave_keys).keys()].sort(byString)) {
    const value = ss[`slave_${key}`];
    if (!value) continue;
    const [dsn = '', username = '', password = ''] = value.split('|');
    s.print(`${key} --dsn=${dsn} --username=${username} --password=${password}\n`);
  }
  s.ok();
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

async function add(s: Session, { args, opts }: VerbInput): Promise<void> {
  const key = args.slave_key;
  const ss = await settings(s);
  const keys = parseKeys(ss.slave_keys);
  if (keys.has(key)) fail('Slave failed to be added');
  const dsn = str(opts.dsn);
  if (!dsn) fail('Slave failed to be added: --dsn is required (e.g. DBI:mysql:mogilefs;host=10.0.0.2)');
  await put(s, `slave_${key}`, [dsn, str(opts.username) ?? '', str(opts.password) ?? ''].join('|'), 'Slave failed to be added');
  keys.set(key, '');
  await put(s, 'slave_keys', formatKeys(keys), 'Slave failed to be added');
  s.ok('Slave added');
}

async function modify(s: Session, { args, opts }: VerbInput): Promise<void> {
  const key = args.slave_key;
  const ss = await settings(s);
  if (!parseKeys(ss.slave_keys).has(key)) fail(`Slave modify failure: no slave "${key}"`);
  let [dsn = '', username = '', password = ''] = (ss[`slave_${key}`] ?? '').split('|');
  dsn = str(opts.dsn) ?? dsn;
  username = str(opts.username) ?? username;
  password = str(opts.password) ?? password;
  await put(s, `slave_${key}`, [dsn, username, password].join('|'), 'Slave modify failure');
  s.ok('Slave modify success');
}

async function del(s: Session, { args }: VerbInput): Promise<void> {
  const key = args.slave_key;
  const ss = await settings(s);
  const keys = parseKeys(ss.slave_keys);
  if (!keys.has(key)) fail('Slave delete failed');
  await put(s, `slave_${key}`, '', 'Slave delete failed');
  keys.delete(key);
  await put(s, 'slave_keys', formatKeys(keys), 'Slave delete failed');
  s.ok('Slave deleted');
}

const DB_OPTS: OptSpec[] = [
  { name: 'dsn', type: 'string', des: 'DBI DSN specifying what database to connect to.' },
  { name: 'username', type: 'string', des: 'DBI username for connecting.' },
  { name: 'password', type: 'string', des: 'DBI password for connecting.' },
];

export const slaveCommand: TopSpec = {
  name: 'slave',
  des: 'Manipulate slave database information in a running mogilefsd.',
  verbs: {
    list: { des: 'List current store slave nodes.', run: list },
    add: { des: 'Add a slave node for store usage', args: [{ name: 'slave_key' }], opts: DB_OPTS, run: add },
    modify: { des: 'Modify a slave node for store usage', args: [{ name: 'slave_key' }], opts: DB_OPTS, run: modify },
    delete: { des: 'Delete a slave node for store usage', args: [{ name: 'slave_key' }], run: del },
  },
};
