/**
 * The original's error texts (MogileFS::Worker::Query::err_line): a code
 * without its own text is sent with this text, or with the code itself when
 * the original has none. Stock clients show these to users, so they are kept
 * word for word.
 */
import { MogError } from '../../protocol';

const ERROR_TEXT: Record<string, string> = {
  dup: 'Duplicate name/number used.',
  after_mismatch: 'Pattern does not match the after-value?',
  bad_params: 'Invalid parameters to command; please see documentation',
  class_exists: 'That class already exists in that domain',
  class_has_files: 'Class still has files, unable to delete',
  class_not_found: 'Class not found',
  db: 'Database error',
  domain_has_files: 'Domain still has files, unable to delete',
  domain_exists: 'That domain already exists',
  domain_not_empty: 'Domain still has classes, unable to delete',
  domain_not_found: 'Domain not found',
  failure: 'Operation failed',
  host_exists: 'That host already exists',
  host_mismatch: "The device specified doesn't belong to the host specified",
  host_not_empty: 'Unable to delete host; it contains devices still',
  host_not_found: 'Host not found',
  invalid_chars: 'Patterns must not contain backslashes (\\) or percent signs (%).',
  invalid_checker_level: 'Checker level invalid.  Please see documentation on this command.',
  invalid_mindevcount: 'The mindevcount must be at least 1',
  key_exists: "Target key name already exists; can't overwrite.",
  no_class: 'No class provided',
  no_devices: 'No devices found to store file',
  no_device: 'Device not found',
  no_domain: 'No domain provided',
  no_host: 'No host provided',
  no_ip: 'IP required to create host',
  no_port: 'Port required to create host',
  no_temp_file: 'No tempfile or file already closed',
  none_match: 'No keys match that pattern and after-value (if any).',
  plugin_aborted: 'Action aborted by plugin',
  state_too_high: 'Status cannot go from dead to alive; must use down',
  unknown_command: 'Unknown server command',
  unknown_host: 'Host not found',
  unknown_state: 'Invalid/unknown state',
  unreg_domain: 'Domain name invalid/not found',
  rebal_not_started: 'Rebalance not running',
  no_rebal_state: 'No available rebalance status',
  no_rebal_policy: 'No rebalance policy available',
  nodel_default_class: 'Cannot delete the default class',
};

/** The text the original sends for `code` when the handler gives none. */
export function errorText(code: string): string {
  return ERROR_TEXT[code] ?? code;
}

/** A MogError carrying the original's text for `code` unless `text` is given. */
export function mogErr(code: string, text?: string): MogError {
  return new MogError(code, text && text.length > 0 ? text : errorText(code));
}

/**
 * The text to send for an error: a code the original has a fixed text for is
 * always sent with that text (stock clients and operators know them), even
 * when it came from the store with a message of its own; any other code keeps
 * its message, which says what to do.
 */
export function replyText(err: MogError): string {
  return ERROR_TEXT[err.code] ?? (err.message.length > 0 ? err.message : err.code);
}
