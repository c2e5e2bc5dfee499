// StateCounts (src/ota/state-counts.ts) against the plain count of every row: after any sequence
// of row changes, each reported as the engine does, the counts and the progress are the same.
import { describe, expect, it } from 'vitest';
import { countStates, defaultPolicy, progressOf, type Deployment, type DeviceRolloutState } from '../../src/ota/deployment.ts';
import { StateCounts } from '../../src/ota/state-counts.ts';
import { createRng } from '../helpers/prng.ts';

const STATES: DeviceRolloutState[] = ['pending', 'transferring', 'installing', 'activating', 'updating', 'confirming', 'done', 'failed', 'skipped'];

function deployment(n: number): Deployment {
  return {
    id: 'd', moduleDigest: 'a'.repeat(64), method: 'sota-push', selector: { prefix: 'x' }, policy: defaultPolicy, status: 'running', createdAt: 0,
    devices: Object.fromEntries(Array.from({ length: n }, (_, i) => [`ep${i}`, { endpoint: `ep${i}`, state: 'pending' as const, attempts: 0 }])),
  };
}

describe('StateCounts', () => {
  it('matches countStates and progressOf after 5,000 random row changes (seed 17)', () => {
    const rng = createRng(17);
    const d = deployment(200);
    const counts = new StateCounts(d);
    const rows = Object.values(d.devices);
    for (let step = 0; step < 5000; step++) {
      const r = rng.pick(rows);
      r.state = rng.pick(STATES);
      // sometimes a row changes twice before it is reported, as a retried attempt may
      if (rng.int(10) === 0) r.state = rng.pick(STATES);
      counts.update(r);
      // a row reported again without a change moves nothing
      if (rng.int(10) === 0) counts.update(r);
      expect(counts.snapshot()).toEqual(countStates(d));
      expect(counts.progress()).toBeCloseTo(progressOf(d), 12);
    }
  });

  it('recount() takes rows that changed without being reported (an abort marks them all skipped)', () => {
    const d = deployment(10);
    const counts = new StateCounts(d);
    for (const r of Object.values(d.devices)) r.state = 'skipped';
    expect(counts.snapshot()).toEqual({ pending: 10 });
    counts.recount();
    expect(counts.snapshot()).toEqual({ skipped: 10 });
    expect(counts.progress()).toBe(1);
    expect(counts.count('skipped')).toBe(10);
    expect(counts.count('done')).toBe(0);
  });

  it('snapshots are copies: an event keeps the counts of its moment', () => {
    const d = deployment(2);
    const counts = new StateCounts(d);
    const first = counts.snapshot();
    d.devices.ep0!.state = 'done';
    counts.update(d.devices.ep0!);
    expect(first).toEqual({ pending: 2 });
    expect(counts.snapshot()).toEqual({ pending: 1, done: 1 });
    expect(counts.progress()).toBe(0.5);
  });
});
