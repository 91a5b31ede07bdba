/**
 * The original's DBI DSNs for MySQL (`DBI:mysql:DB;host=H;port=P`, also
 * `database=`/`dbname=`, DBD::mysql's `mysql_socket=PATH`) as our
 * mysql:// URLs, for db_dsn in mogilefsd.conf and the `slave_<key>`
 * settings alike. Null when `dsn` is no DBI:mysql (or DBI:MariaDB) DSN.
 */
export function mysqlUrlFromDbi(dsn: string, user?: string, pass?: string): { url: string; database: string } | null {
  const my = /^dbi:(?:mysql|mariadb):(.*)$/i.exec(dsn.trim());
  if (!my) return null;
  let db = '';
  let host = '127.0.0.1';
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
  const auth = user ? `${encodeURIComponent(user)}${pass ? ':' + encodeURIComponent(pass) : ''}@` : '';
  const url = `mysql://${auth}${host}:${port}/${encodeURIComponent(db)}${socket ? `?socket=${encodeURIComponent(socket)}` : ''}`;
  return { url, database: db };
}
