// Probe sets are validated and the store is bounded (issue 16 §2; hostile input never grows memory without limit).
import { describe, expect, it } from 'vitest';
import { PROBE_LIMITS, ProbeSets, type ProbeSet } from '../../src/ml/probe-sets.ts';
import { JsonCollection } from '../../src/store/json-collection.ts';

describe('ProbeSets', () => {
  it('stores labelled inputs and gives them back as bytes', async () => {
    const sets = new ProbeSets(JsonCollection.memory<ProbeSet>());
    const s = await sets.add('p', [{ data: Buffer.from([1, 2, 3, 4]).toString('base64'), label: 3 }, { data: Buffer.from([5, 6, 7, 8]).toString('base64'), label: 9 }]);
    expect(s.inputBytes).toBe(4);
    const back = await sets.inputs(s.id);
    expect(back.map((x) => [...x.data])).toEqual([[1, 2, 3, 4], [5, 6, 7, 8]]);
    expect(back.map((x) => x.label)).toEqual([3, 9]);
  });

  it('refuses a full store until a set is deleted', async () => {
    const sets = new ProbeSets(JsonCollection.memory<ProbeSet>());
    const ids: string[] = [];
    for (let i = 0; i < PROBE_LIMITS.maxSets; i++) ids.push((await sets.add(`s${i}`, [{ data: 'AA==', label: 0 }])).id);
    await expect(sets.add('one-more', [{ data: 'AA==', label: 0 }])).rejects.toMatchObject({ code: 'PROBE_STORE_FULL' });
    expect(await sets.delete(ids[0]!)).toBe(true);
    await expect(sets.add('one-more', [{ data: 'AA==', label: 0 }])).resolves.toMatchObject({ name: 'one-more' });
  });

  it('names what is wrong with an input', async () => {
    const sets = new ProbeSets(JsonCollection.memory<ProbeSet>());
    await expect(sets.add('p', [])).rejects.toMatchObject({ code: 'BAD_PROBE_SET' });
    await expect(sets.add('p', [{ data: 'AA==', label: 1.5 }])).rejects.toThrow(/inputs\[0\]\.label/);
    await expect(sets.add('bad name', [{ data: 'AA==', label: 1 }])).rejects.toThrow(/name/);
  });
});
