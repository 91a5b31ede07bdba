/**
 * JobPump's reserved slots (create_close's hand-off): a reserved slot
 * counts against the parallelism, and a pump closing while a reservation
 * is held waits for it to be taken or cancelled, handing a job taken after
 * close back before close() resolves.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '../src/common/log';
import { JobPump } from '../src/tracker/workers/pump';

function pump(parallel: number, events: string[]): JobPump<number> {
  return new JobPump<number>({
    name: 'test',
    parallel,
    batch: 4,
    pollMs: 60_000,
    claim: async () => [],
    run: async (job) => {
      events.push(`run ${job}`);
      await new Promise((r) => setTimeout(r, 30));
    },
    release: async (job) => {
      await new Promise((r) => setTimeout(r, 20));
      events.push(`release ${job}`);
    },
    log: createLogger('test-pump', 'silent'),
  });
}

test('reserved slots count against the parallelism; take runs the job, cancel frees the slot', async () => {
  const events: string[] = [];
  const p = pump(2, events);
  assert.equal(p.reserve(), true);
  assert.equal(p.reserve(), true);
  assert.equal(p.reserve(), false, 'a third slot was promised with parallel 2');
  p.cancel();
  assert.equal(p.reserve(), true, 'a cancelled slot was not freed');
  p.take(1);
  p.take(2);
  assert.equal(p.reserve(), false, 'running jobs do not hold their slots');
  await p.close();
  assert.deepEqual(events.sort(), ['run 1', 'run 2']);
});

test('a pump closing while a slot is reserved hands the job taken later back before close() resolves', async () => {
  const events: string[] = [];
  const p = pump(2, events);
  assert.equal(p.reserve(), true);
  const closed = p.close().then(() => events.push('closed'));
  setTimeout(() => p.take(7), 100); // the commit holding the claim ends after close() began
  await closed;
  assert.deepEqual(events, ['release 7', 'closed']);
  assert.equal(p.reserve(), false, 'a closed pump promised a slot');
});
