// Bulk copy between a local tree and a domain (`mogfs import` / `mogfs export`):
// keys are relative paths under a prefix, unchanged files are skipped by size
// and mtime, transfers stream and run in parallel with retries.
export { runImport } from './importer';
export type { ImportOptions, ImportReport, TransferFailure } from './importer';
export { runExport } from './exporter';
export type { ExportOptions, ExportReport } from './exporter';
export { normalizePrefix, keyFor, relForKey, walkTree, attrsFromStats, sameFile } from './localfs';
