/**
 * The tracker's `!` commands (MogileFS::Connection::Client
 * handle_admin_command): plain-text lines ending with a line holding `.`,
 * for operators poking a tracker with telnet.
 */
const VERSION = '2.73-mogfs';

export interface AdminStats {
  started: number;
  processing: number;
  queries: number;
}

export function adminCommand(line: string, stats: AdminStats): string {
  const m = /^!(\S+)/.exec(line);
  const cmd = m ? m[1] : '';
  const out: string[] = [];
  if (/^version/.test(cmd)) {
    out.push(VERSION);
  } else if (/^stats/.test(cmd)) {
    out.push(
      `uptime ${Math.floor((Date.now() - stats.started) / 1000)}`,
      'pending_queries 0',
      `processing_queries ${stats.processing}`,
      'bored_queryworkers 0',
      `queries ${stats.queries}`,
    );
  } else if (!/^(jobs|queue|pend|recent|watch)/.test(cmd)) {
    out.push('Commands: !version !stats !jobs !queue !recent');
  }
  return out.map((l) => l + '\r\n').join('') + '.\r\n';
}
