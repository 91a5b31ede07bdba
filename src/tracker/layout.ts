/**
 * Builds a TrackerContext: the store, config and logger plus a briefly cached
 * layout (domains, classes, hosts, devices). The cache keeps get_paths and
 * create_open off the database for their lookups; writes through this tracker
 * call invalidateLayout(), and other trackers' writes show up within the TTL.
 */
import type { Logger } from '../common/log';
import { recordingLogger, RecentErrors } from '../common/recent';
import type { MetadataStore } from '../store';
import type { Layout, ObservedDevice, TrackerConfig, TrackerContext } from './context';
import { defaultTrackerConfig, NO_HANDOFF } from './context';
import { OpenUploads } from './uploads';

/** The mindevcount of a domain's implicit default class (no class row) when `default_mindevcount` is unset. */
export const IMPLICIT_DEFAULT_MINDEVCOUNT = 2;

/** The default class's mindevcount: the `default_mindevcount` server setting, else 2. */
export function defaultMindevcountOf(settings: Record<string, string>): number {
  const v = Number(settings.default_mindevcount);
  return Number.isInteger(v) && v > 0 ? v : IMPLICIT_DEFAULT_MINDEVCOUNT;
}

export type WorkerName = 'replicate' | 'delete' | 'monitor' | 'reaper' | 'rebalance';
export type WakeFn = (worker: WorkerName) => void;

/** How long a loaded layout is trusted, ms. */
export const LAYOUT_TTL_MS = 1000;

export interface TrackerContextHandle extends TrackerContext {
  /** Replace the wake function (the server installs the workers' once they start). */
  setWake(fn: WakeFn): void;
}

export function createContext(
  store: MetadataStore,
  config: Partial<TrackerConfig>,
  log: Logger,
  wake?: WakeFn,
): TrackerContextHandle {
  const cfg: TrackerConfig = { ...defaultTrackerConfig, ...config };
  // Every warning and error this tracker (and each worker's child logger) logs is also kept for the status page.
  const recent = new RecentErrors();
  log = recordingLogger(log, recent, 'tracker');
  const observed = new Map<number, ObservedDevice>();
  let cached: Layout | null = null;
  let loadedAt = 0;
  // A load in flight is shared so a burst of requests triggers one reload, and
  // the generation stops a load that started before an invalidation from
  // repopulating the cache with stale rows.
  let inflight: Promise<Layout> | null = null;
  let generation = 0;
  let wakeFn: WakeFn = wake ?? (() => undefined);

  async function load(): Promise<Layout> {
    const gen = generation;
    const [domains, classes, hosts, devices, defaultMin] = await Promise.all([
      store.listDomains(),
      store.listClasses(),
      store.listHosts(),
      store.listDevices(),
      store.getSettings().then(defaultMindevcountOf),
    ]);
    const layout: Layout = { domains, classes, hosts, devices, defaultMindevcount: defaultMin };
    if (gen === generation) {
      cached = layout;
      loadedAt = Date.now();
    }
    return layout;
  }

  return {
    store,
    config: cfg,
    log,
    recent,
    observed,
    utilization: new Map(),
    layout(): Promise<Layout> {
      if (cached && Date.now() - loadedAt < LAYOUT_TTL_MS) return Promise.resolve(cached);
      if (!inflight) {
        const p = load().finally(() => {
          if (inflight === p) inflight = null;
        });
        inflight = p;
      }
      return inflight;
    },
    invalidateLayout(): void {
      cached = null;
      inflight = null;
      generation++;
    },
    wake(worker: WorkerName): void {
      try {
        wakeFn(worker);
      } catch (err) {
        log.warn({ err, worker }, 'waking a worker failed');
      }
    },
    setWake(fn: WakeFn): void {
      wakeFn = fn;
    },
    replicator: NO_HANDOFF,
    uploads: new OpenUploads(),
  };
}
