/**
 * A job pump: claims batches of due jobs from a queue table and runs them
 * with bounded parallelism. It sleeps until woken (our own create_close or
 * delete just queued work) or until the poll interval passes (another tracker
 * sharing the database may have queued work). Claims lease the rows in the
 * database, so several trackers can pump one queue without doing a job twice.
 */
import type { Logger } from '../../common/log';

export interface PumpOptions<J> {
  name: string;
  /** Jobs run at once. */
  parallel: number;
  /** Jobs claimed per query. */
  batch: number;
  pollMs: number;
  /**
   * After a wake, wait this long before claiming (default 10 ms), so jobs
   * queued by a burst of requests are claimed in one query rather than one
   * claim each; on MySQL a claim is five round trips.
   */
  gatherMs?: number;
  claim(limit: number): Promise<J[]>;
  run(job: J): Promise<void>;
  /** Hand back a claimed job we will not run (closing), so it need not wait out its lease. */
  release(job: J): Promise<void>;
  log: Logger;
}

const DEFAULT_GATHER_MS = 10;
/** How long close() waits for reserved slots to be taken or cancelled. */
const RESERVED_WAIT_MS = 5000;

export class JobPump<J> {
  private running = 0;
  /** Slots promised to jobs claimed elsewhere (reserve/take), not yet started. */
  private reserved = 0;
  private closed = false;
  private woken = false;
  private wakeIdle: (() => void) | null = null;
  private slotFree: (() => void) | null = null;
  private readonly inflight = new Set<Promise<void>>();
  private readonly done: Promise<void>;

  constructor(private readonly o: PumpOptions<J>) {
    this.done = this.loop();
  }

  /** There is new work: claim now instead of at the next poll. */
  wake(): void {
    this.woken = true;
    const f = this.wakeIdle;
    this.wakeIdle = null;
    f?.();
  }

  /**
   * A slot for a job the caller is about to claim itself (create_close
   * claims its file's replication in its own transaction): true when one is
   * free now, and it stays promised until take() or cancel(). False when the
   * pump is full or closed; the caller then queues the job as usual.
   */
  reserve(): boolean {
    if (this.closed || this.running + this.reserved >= this.o.parallel) return false;
    this.reserved++;
    return true;
  }

  /** Runs a job claimed under a reservation; a closed pump hands it back instead. */
  take(job: J): void {
    this.reserved--;
    if (this.closed) {
      const p: Promise<void> = this.releaseAll([job]).finally(() => this.inflight.delete(p));
      this.inflight.add(p);
      this.freed();
      return;
    }
    this.start(job);
  }

  /** The reserved slot is not needed after all (the claim failed). */
  cancel(): void {
    this.reserved--;
    this.freed();
  }

  /** Stop claiming, hand back claimed jobs not yet started, and wait for running ones. */
  async close(): Promise<void> {
    this.closed = true;
    this.wake();
    this.slotFree?.();
    await this.done;
    // A commit holding a reserved slot (create_close) ends in take() or
    // cancel() soon: wait, so its job is handed back while the store is open.
    const until = Date.now() + RESERVED_WAIT_MS;
    while (this.reserved > 0 && Date.now() < until) {
      await new Promise<void>((resolve) => {
        this.slotFree = resolve;
        setTimeout(resolve, 50);
      });
    }
    await Promise.allSettled([...this.inflight]);
  }

  private async loop(): Promise<void> {
    while (!this.closed) {
      this.woken = false;
      let jobs: J[];
      try {
        jobs = await this.o.claim(this.o.batch);
      } catch (err) {
        this.o.log.error({ err }, `${this.o.name}: claiming jobs failed; retrying after the poll interval`);
        await this.idle();
        continue;
      }
      for (const [i, job] of jobs.entries()) {
        await this.slot();
        if (this.closed) {
          await this.releaseAll(jobs.slice(i));
          break;
        }
        this.start(job);
      }
      // A short batch took everything due: the next claim waits for new
      // work (a wake) or the poll instead of asking again right away.
      if (jobs.length < this.o.batch) await this.idle();
    }
  }

  private async releaseAll(jobs: J[]): Promise<void> {
    for (const job of jobs) {
      await this.o.release(job).catch((err: unknown) => {
        this.o.log.warn({ err, job }, `${this.o.name}: releasing a claimed job failed; it runs after its lease`);
      });
    }
  }

  private start(job: J): void {
    this.running++;
    const p = this.o
      .run(job)
      .catch((err: unknown) => {
        this.o.log.error({ err, job }, `${this.o.name}: job failed unexpectedly`);
      })
      .finally(() => {
        this.running--;
        this.inflight.delete(p);
        this.freed();
      });
    this.inflight.add(p);
  }

  private freed(): void {
    const f = this.slotFree;
    this.slotFree = null;
    f?.();
  }

  private async slot(): Promise<void> {
    while (this.running + this.reserved >= this.o.parallel && !this.closed) {
      await new Promise<void>((resolve) => {
        this.slotFree = resolve;
      });
    }
  }

  private async idle(): Promise<void> {
    await this.sleepUntilWoken();
    const gather = this.o.gatherMs ?? DEFAULT_GATHER_MS;
    if (gather > 0 && this.woken && !this.closed) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          this.wakeIdle = null;
          resolve();
        }, gather);
        // Further wakes only add to the gathering; close() ends it at once.
        const onWake = (): void => {
          if (!this.closed) {
            this.wakeIdle = onWake;
            return;
          }
          clearTimeout(t);
          resolve();
        };
        this.wakeIdle = onWake;
      });
    }
  }

  private sleepUntilWoken(): Promise<void> {
    if (this.woken || this.closed) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        this.wakeIdle = null;
        resolve();
      }, this.o.pollMs);
      this.wakeIdle = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }
}

export { unixNow as nowSec } from '../../common/time';

/**
 * Seconds until the next try after `failcount` failures: the schedule's entry
 * (the last one once past its end), jittered by ±20% as the original does so
 * a burst of failures does not come due all at once.
 */
export function backoffSec(schedule: readonly number[], failcount: number): number {
  const base = schedule[Math.min(failcount, schedule.length - 1)] ?? 60;
  return Math.max(1, Math.round(base * (0.8 + Math.random() * 0.4)));
}
