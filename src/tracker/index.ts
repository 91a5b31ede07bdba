// mogilefsd: the tracker. A TCP line-protocol server over a MetadataStore,
// plus the background workers that keep every file at its class's mindevcount.
export * from './context';
export { createContext } from './layout';
export type { WakeFn, WorkerName, TrackerContextHandle } from './layout';
export { startTracker } from './server';
export type { Tracker, TrackerOptions } from './server';
