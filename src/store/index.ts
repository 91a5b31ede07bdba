// Metadata storage: the MetadataStore interface and its engines (sqlite for
// one machine, mysql for production), on the original MogileFS schema.
export * from './types';
export * from './store';
export { openStore } from './open';
export { OUR_MAX_KEY_LENGTH, checkKeyLength, checkPrefixRename, compareKeys, nextPrefix, parseDevids } from './keys';
export type { DirEntry } from './listdir';
export * from './attrs';
export { DavLockTable } from './davlocks';
export { MOVE_FLAG } from './rebalance';
export type { FidLength, MoveStore } from './rebalance';
export type { DavLockRow } from './davlocks';
export { FSCK_KEYS, FSCK_QUEUE } from './fsck';
export type { FsckInjectResult, FsckJob, FsckLogRow, FsckStore, NewFsckEvent } from './fsck';
export { slavesOk, isDbUnavailable } from './replicas';
export type { SlaveReads } from './replicas';
