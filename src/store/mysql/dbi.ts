import { existsSync } from 'node:fs';

/**
 * Where libmysqlclient looks for the server's socket when DBD::mysql is
 * given no host or `localhost` (Debian and Ubuntu, then RHEL, then macOS).
 */
export const DEFAULT_SOCKETS = ['/run/mysqld/mysqld.sock', '/var/run/mysqld/mysqld.sock', '/var/lib/mysql/mysql.sock', '/tmp/mysql.sock'];

const found = new Map<readonly string[], string>();

/** The first of `sockets` that exists, looked for once per list (settings are parsed again at run time). */
function defaultSocket(sockets: readonly string[]): string {
  let s = found.get(sockets);
  if (s === undefined) found.set(sockets, (s = sockets.find((p) => existsSync(p)) ?? ''));
  return s;
}

/**
 * The original's DBI DSNs for MySQL (`DBI:mysql:DB;host=H;port=P`, also
 * `database=`/`dbname=`, DBD::mysql's `mysql_socket=PATH`) as our
 * mysql:// URLs, for db_dsn in mogilefsd.conf and the `slave_<key>`
 * settings alike. Null when `dsn` is no DBI:mysql (or DBI:MariaDB) DSN.
 * As DBD::mysql does, no host or `localhost` means the server's Unix socket
 * (the first of `sockets` that exists; a user `'mogile'@'localhost'` is
 * matched by it, and it costs both sides less than loopback TCP), and TCP
 * to 127.0.0.1 only when there is none; `127.0.0.1` means TCP.
 */
export function mysqlUrlFromDbi(
  dsn: string, user?: string, pass?: string, sockets: readonly string[] = DEFAULT_SOCKETS,
): { url: string; database: string } | null {
  const my = /^dbi:(?:mysql|mariadb):(.*)$/i.exec(dsn.trim());
  if (!my) return null;
  let db = '';
  let host = '';
  let port = '3306';
  let socket = '';
  for (const part of my[1].split(/[;:]/)) {
    const kv = /^(\w+)=(.*)$/.exec(part);
    if (!kv) {
      if (part) db = part;
    } else if (kv[1] === 'host') host = kv[2];
    else if (kv[1] === 'port') port = kv[2];
    else if (kv[1] === 'database' || kv[1] === 'dbname') db = kv[2];
    else if (kv[1] === 'mysql_socket') socket = kv[2];
  }
  if (!socket && (host === '' || host === 'localhost')) socket = defaultSocket(sockets);
  if (host === '') host = '127.0.0.1';
  const auth = user ? `${encodeURIComponent(user)}${pass ? ':' + encodeURIComponent(pass) : ''}@` : '';
  const url = `mysql://${auth}${host}:${port}/${encodeURIComponent(db)}${socket ? `?socket=${encodeURIComponent(socket)}` : ''}`;
  return { url, database: db };
}
