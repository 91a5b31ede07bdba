/**
 * The shape every command handler has: it gets the tracker context, the
 * decoded request args and a little about the connection, and returns the
 * reply args for `OK ...` or throws a MogError for `ERR code text`.
 */
import type { Args } from '../../protocol';
import type { TrackerContext } from '../context';
import type { DirectoryMaker } from '../vivify';

export type ReplyValue = string | number | null | undefined;
export type ReplyArgs = Record<string, ReplyValue>;

export interface CommandEnv {
  readonly ctx: TrackerContext;
  /** The client's address, for zone decisions. */
  readonly clientIp: string;
  /**
   * Resolves once this tracker's monitor has observed the devices (or at once
   * when no monitor runs), so create_open does not refuse writes merely
   * because the first monitor round has not finished yet.
   */
  waitForMonitor(): Promise<void>;
  /** Creates fid directories on storage nodes before uploads (shared per tracker). */
  readonly dirs: DirectoryMaker;
  /** Set when the tracker is closing, so long commands (sleep) can end early. */
  readonly closing: AbortSignal;
}

export type Handler = (env: CommandEnv, args: Args) => Promise<ReplyArgs>;
