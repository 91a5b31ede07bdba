// The tracker's command table: one handler per wire command, keyed by the
// name stock clients send, grouped by family in the files beside this one.
import * as attrs from './attrs';
import * as classes from './classes';
import * as davlocks from './davlocks';
import * as devices from './devices';
import * as domains from './domains';
import * as files from './files';
import * as hosts from './hosts';
import * as listing from './listing';
import * as misc from './misc';
import * as paths from './paths';
import * as settings from './settings';
import * as stats from './stats';
import * as tree from './tree';
import * as upload from './upload';
import type { Handler } from './types';

export type { CommandEnv, Handler, ReplyArgs, ReplyValue } from './types';
export { errorText, mogErr, replyText } from './errors';

export const commands: Readonly<Record<string, Handler>> = Object.freeze({
  // domains
  create_domain: domains.create_domain,
  delete_domain: domains.delete_domain,
  get_domains: domains.get_domains,
  // classes
  create_class: classes.create_class,
  update_class: classes.update_class,
  delete_class: classes.delete_class,
  // hosts
  create_host: hosts.create_host,
  update_host: hosts.update_host,
  delete_host: hosts.delete_host,
  get_hosts: hosts.get_hosts,
  // devices
  create_device: devices.create_device,
  get_devices: devices.get_devices,
  set_state: devices.set_state,
  set_weight: devices.set_weight,
  // storing and reading files
  create_open: upload.create_open,
  create_close: upload.create_close,
  get_paths: paths.get_paths,
  edit_file: paths.edit_file,
  delete: files.delete_,
  rename: files.rename,
  updateclass: files.updateclass,
  // listing and inspecting
  list_keys: listing.list_keys,
  list_fids: listing.list_fids,
  file_info: listing.file_info,
  file_debug: listing.file_debug,
  // settings
  server_setting: settings.server_setting,
  server_settings: settings.server_settings,
  set_server_setting: settings.set_server_setting,
  // housekeeping
  noop: misc.noop,
  sleep: misc.sleep,
  clear_cache: misc.clear_cache,
  do_monitor_round: misc.do_monitor_round,
  replicate_now: misc.replicate_now,
  ...misc.jobCommands,
  // Our extensions, all named mogfs_*: attributes, listings and renames for the bridge, and the status page's counts.
  ...attrs.commands,
  ...tree.commands,
  ...davlocks.commands,
  ...stats.commands,
});

/** The handler for a wire command; with `extensions` off, our mogfs_* commands are unknown, as on a stock tracker. */
export function findCommand(name: string, extensions = true): Handler | undefined {
  if (!extensions && name.startsWith('mogfs_')) return undefined;
  return Object.prototype.hasOwnProperty.call(commands, name) ? commands[name] : undefined;
}
