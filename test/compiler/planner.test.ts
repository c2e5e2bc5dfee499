import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { computeLifetimes, planGreedy, planNaive, planViolations, type Lifetime } from '../../compiler/planner/index.ts';

describe('lifetimes', () => {
  it('spans producer to last consumer; inputs from 0, outputs to the end', () => {
    // t0 -> op0 -> t1 -> op1 -> t2 ; op2 reads t1,t2 -> t3
    const ops = [
      { reads: [0], writes: [1] },
      { reads: [1], writes: [2] },
      { reads: [1, 2], writes: [3] },
    ];
    const lt = computeLifetimes(ops, [10, 20, 30, 40], [0], [3]);
    expect(lt.map((l) => [l.firstUse, l.lastUse])).toEqual([[0, 0], [0, 2], [1, 2], [2, 2]]);
  });

  it('rejects a dangling tensor index', () => {
    expect(() => computeLifetimes([{ reads: [5], writes: [] }], [1], [], [])).toThrow(RangeError);
  });
});

describe('greedy planner', () => {
  it('reuses the memory of dead tensors in a chain', () => {
    // a chain a->b->c->d: at most two buffers are live at a time
    const ops = [0, 1, 2].map((i) => ({ reads: [i], writes: [i + 1] }));
    const lt = computeLifetimes(ops, [100, 100, 100, 100], [0], [3]);
    const greedy = planGreedy(lt);
    expect(planViolations(lt, greedy)).toEqual([]);
    expect(greedy.arenaBytes).toBe(224); // two 100-byte buffers, aligned to 16 → 112 + 112
    expect(planNaive(lt).arenaBytes).toBe(448);
  });

  it('places the largest buffer first at offset 0 and aligns everything to 16', () => {
    const lt: Lifetime[] = [
      { tensor: 0, size: 5, firstUse: 0, lastUse: 1 },
      { tensor: 1, size: 50, firstUse: 0, lastUse: 1 },
    ];
    const plan = planGreedy(lt);
    expect(plan.offsets).toEqual([64, 0]);
    expect(plan.arenaBytes).toBe(80);
  });

  const lifetimesArb = fc
    .array(
      fc.record({ size: fc.integer({ min: 0, max: 5000 }), a: fc.integer({ min: 0, max: 30 }), len: fc.integer({ min: 0, max: 10 }) }),
      { minLength: 1, maxLength: 40 },
    )
    .map((bs) => bs.map((b, i): Lifetime => ({ tensor: i, size: b.size, firstUse: b.a, lastUse: b.a + b.len })));

  it('property: no two simultaneously live buffers overlap, and greedy <= naive', () => {
    fc.assert(
      fc.property(lifetimesArb, fc.constantFrom(1, 4, 16), (lt, align) => {
        const greedy = planGreedy(lt, align);
        const naive = planNaive(lt, align);
        expect(planViolations(lt, greedy)).toEqual([]);
        expect(planViolations(lt, naive)).toEqual([]);
        expect(greedy.arenaBytes).toBeLessThanOrEqual(naive.arenaBytes);
        // never below the peak of simultaneously live bytes
        let peak = 0;
        for (let t = 0; t <= 40; t++) peak = Math.max(peak, lt.filter((b) => b.firstUse <= t && t <= b.lastUse).reduce((s, b) => s + b.size, 0));
        expect(greedy.arenaBytes).toBeGreaterThanOrEqual(peak);
      }),
      { numRuns: 300 },
    );
  });
});
