// The file tools of `mogfs` (upload, fetch, delete, rename, info, ls, the
// MogileFS-Utils equivalents, stats, import/export), each family in its own
// file; registerTools adds them all to the mogfs program.
import type { Command } from 'commander';
import { registerFileTools } from './files';
import { registerInspectTools } from './inspect';
import { registerStatsTool } from './stats';
import { registerTransferTools } from './transfer';

export function registerTools(program: Command): void {
  registerFileTools(program);
  registerInspectTools(program);
  registerStatsTool(program);
  registerTransferTools(program);
}
