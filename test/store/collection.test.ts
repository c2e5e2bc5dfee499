// The Collection contract (deployments, model metadata) runs unchanged against memory, a JSON
// file and Redis.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Collection } from '../../src/store/collection.ts';
import { JsonCollection } from '../../src/store/json-collection.ts';
import { RedisCollection } from '../../src/store/redis-collection.ts';
import { startRedis, type Service } from '../support/services.ts';

type Item = { id: string; n: number; tags: string[]; nested: { ok: boolean } };

let redis: Service;
let dir: string;
const opened: RedisCollection<Item>[] = [];
beforeAll(async () => {
  redis = await startRedis();
  dir = await mkdtemp(path.join(tmpdir(), 'collection-'));
});
afterAll(async () => {
  await Promise.all(opened.map((c) => c.close()));
  await redis?.stop();
});

const implementations: [string, (name: string) => Promise<Collection<Item>>, (name: string) => Promise<Collection<Item>>][] = [
  ['memory', async () => JsonCollection.memory<Item>(), async () => JsonCollection.memory<Item>()],
  ['JSON file', (name) => JsonCollection.open<Item>(path.join(dir, `${name}.json`)), (name) => JsonCollection.open<Item>(path.join(dir, `${name}.json`))],
  ['Redis', async (name) => {
    const c = await RedisCollection.open<Item>(redis.url, name, 'test');
    opened.push(c);
    return c;
  }, async (name) => {
    const c = await RedisCollection.open<Item>(redis.url, name, 'test');
    opened.push(c);
    return c;
  }],
];

describe.each(implementations)('Collection contract: %s', (kind, open, reopen) => {
  it('saves, replaces, gets and lists records as plain data', async () => {
    const c = await open(`basic-${kind}`);
    expect(await c.get('a')).toBeUndefined();
    await c.save({ id: 'a', n: 1, tags: ['x'], nested: { ok: true } });
    await c.save({ id: 'b', n: 2, tags: [], nested: { ok: false } });
    await c.save({ id: 'a', n: 3, tags: ['y', 'z'], nested: { ok: true } });
    expect(await c.get('a')).toEqual({ id: 'a', n: 3, tags: ['y', 'z'], nested: { ok: true } });
    expect((await c.all()).map((i) => i.id).sort()).toEqual(['a', 'b']);
  });

  it('deletes a record and says whether there was one', async () => {
    const c = await open(`delete-${kind}`);
    await c.save({ id: 'a', n: 1, tags: [], nested: { ok: true } });
    await c.save({ id: 'b', n: 2, tags: [], nested: { ok: true } });
    expect(await c.delete('a')).toBe(true);
    expect(await c.delete('a')).toBe(false);
    expect(await c.get('a')).toBeUndefined();
  });

  it('deleteMany removes records, ignoring unknown ids, and the deletion persists', async () => {
    const c = await open(`delete-${kind}`);
    for (const id of ['a', 'b', 'c']) await c.save({ id, n: 1, tags: [], nested: { ok: true } });
    await c.deleteMany(['a', 'c', 'nope']);
    await c.deleteMany([]);
    expect((await c.all()).map((i) => i.id)).toEqual(['b']);
    const again = await reopen(`delete-${kind}`);
    expect((await again.all()).map((i) => i.id)).toEqual(kind === 'memory' ? [] : ['b']);
  });

  it('returns copies: changing a record read back changes nothing stored', async () => {
    const c = await open(`copies-${kind}`);
    await c.save({ id: 'a', n: 1, tags: ['x'], nested: { ok: true } });
    const got = (await c.get('a'))!;
    got.n = 99;
    got.tags.push('mutated');
    expect(await c.get('a')).toEqual({ id: 'a', n: 1, tags: ['x'], nested: { ok: true } });
  });

  it('persists across a reopen where the implementation is persistent', async () => {
    const c = await open(`reopen-${kind}`);
    await c.save({ id: 'kept', n: 7, tags: [], nested: { ok: true } });
    const again = await reopen(`reopen-${kind}`);
    const expected = kind === 'memory' ? undefined : { id: 'kept', n: 7, tags: [], nested: { ok: true } };
    expect(await again.get('kept')).toEqual(expected);
  });
});
