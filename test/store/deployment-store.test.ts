// The deployment store contract (header apart from per-device rows, rows paged by endpoint, writes
// of changed rows only) against memory, the JSON files and Redis; the JSON store after a kill -9
// of the process writing it, after a cut last line, and reading the single-file form of before.
import { spawn } from 'node:child_process';
import { appendFile, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultPolicy, type Deployment, type DeviceRollout } from '../../src/ota/deployment.ts';
import { allRows, type DeploymentStore } from '../../src/store/deployment-store.ts';
import { JsonDeploymentStore } from '../../src/store/json-deployment-store.ts';
import { RedisDeploymentStore } from '../../src/store/redis-deployment-store.ts';
import { compareUtf8 } from '../../src/store/sorted-names.ts';
import { startRedis, type Service } from '../support/services.ts';

let redis: Service;
let dir: string;
const opened: RedisDeploymentStore[] = [];
beforeAll(async () => {
  redis = await startRedis();
  dir = await mkdtemp(path.join(tmpdir(), 'deployment-store-'));
});
afterAll(async () => {
  await Promise.all(opened.map((c) => c.close()));
  await redis?.stop();
});

function header(id: string, over: Partial<Deployment> = {}): Deployment {
  return {
    id, moduleDigest: 'b'.repeat(64), method: 'sota-push', selector: { prefix: 'dev-' }, policy: defaultPolicy, status: 'running',
    createdAt: 1_700_000_000_000, node: 'n1', counts: {}, total: 0, ...over,
  };
}

const row = (endpoint: string, over: Partial<DeviceRollout> = {}): DeviceRollout => ({ endpoint, state: 'pending', attempts: 0, ...over });

/** Names whose UTF-16 order differs from their UTF-8 byte order (U+FF5E < U+1F600 in bytes, not in UTF-16 code units). */
const ODD = ['dev-\u{1F600}', 'dev-\uFF5E', 'dev-é', 'dev-Z', 'dev-a'];

async function collect(store: DeploymentStore, id: string): Promise<DeviceRollout[]> {
  const out: DeviceRollout[] = [];
  for await (const r of allRows(store, id)) out.push(r);
  return out;
}

const implementations: [string, (name: string) => Promise<DeploymentStore>, ((name: string) => Promise<DeploymentStore>) | undefined][] = [
  ['memory', async () => JsonDeploymentStore.memory(), undefined],
  ['JSON files', (name) => JsonDeploymentStore.open(path.join(dir, `${name}.json`)), (name) => JsonDeploymentStore.open(path.join(dir, `${name}.json`))],
  ['Redis', async (name) => {
    const s = await RedisDeploymentStore.open(redis.url, `test-${name}`);
    opened.push(s);
    return s;
  }, async (name) => {
    const s = await RedisDeploymentStore.open(redis.url, `test-${name}`);
    opened.push(s);
    return s;
  }],
];

describe.each(implementations)('deployment store contract: %s', (_kind, open, reopen) => {
  it('keeps the header apart from the rows: get and list return headers, rows come a page at a time in UTF-8 byte order', async () => {
    const s = await open('paging');
    const eps = [...Array.from({ length: 2500 }, (_, i) => `dev-${String(i).padStart(5, '0')}`), ...ODD];
    const h = header('p1', { counts: { pending: eps.length }, total: eps.length });
    // written in batches, out of order on purpose: paging orders them
    const shuffled = [...eps].reverse();
    for (let i = 0; i < shuffled.length; i += 1000) await s.write(h, shuffled.slice(i, i + 1000).map((ep) => row(ep)));
    expect(await s.get('p1')).toEqual(h);
    expect(await s.list()).toEqual([h]);
    expect(await s.get('nope')).toBeUndefined();

    const first = await s.rows('p1', undefined, 100);
    expect(first.rows).toHaveLength(100);
    expect(first.rows[0]!.endpoint).toBe('dev-00000');
    expect(first.next).toBe('dev-00099');
    const all = await collect(s, 'p1');
    const sorted = [...eps].sort(compareUtf8);
    expect(all.map((r) => r.endpoint)).toEqual(sorted);
    // byte order: U+FF5E (EF BD 9E) before U+1F600 (F0 9F 98 80), although UTF-16 sorts them the other way
    expect(sorted.slice(-2)).toEqual(['dev-\uFF5E', 'dev-\u{1F600}']);
    // a page from the middle, and the last page says there is nothing after it
    const mid = await s.rows('p1', 'dev-01499', 3);
    expect(mid.rows.map((r) => r.endpoint)).toEqual(['dev-01500', 'dev-01501', 'dev-01502']);
    const last = await s.rows('p1', sorted[sorted.length - 3], 10);
    expect(last.rows.map((r) => r.endpoint)).toEqual(sorted.slice(-2));
    expect(last.next).toBeUndefined();
    expect(await s.rows('nope', undefined, 10)).toEqual({ rows: [] });
  });

  it('writes only the rows given: others stay as they were; one row by endpoint; delete removes header and rows', async () => {
    const s = await open('changes');
    const h = header('c1', { counts: { pending: 3 }, total: 3 });
    await s.write(h, [row('dev-1'), row('dev-2'), row('dev-3')]);
    const changed = row('dev-2', { state: 'failed', attempts: 2, failures: 2, error: { code: 'TIMEOUT', message: 'no answer' }, startedAt: 5, finishedAt: 6 });
    await s.write({ ...h, counts: { pending: 2, failed: 1 } }, [changed]);
    // a header-only write (a take-over rewriting the node) leaves the rows alone
    await s.write({ ...h, counts: { pending: 2, failed: 1 }, node: 'n2' }, []);
    expect(await s.row('c1', 'dev-2')).toEqual(changed);
    expect(await s.row('c1', 'dev-1')).toEqual(row('dev-1'));
    expect(await s.row('c1', 'dev-9')).toBeUndefined();
    expect((await s.get('c1'))?.node).toBe('n2');
    expect((await s.get('c1'))?.counts).toEqual({ pending: 2, failed: 1 });
    expect((await collect(s, 'c1')).map((r) => r.state)).toEqual(['pending', 'failed', 'pending']);
    // what a reader got is a copy: changing it changes nothing stored
    const copy = (await s.row('c1', 'dev-1'))!;
    copy.state = 'done';
    expect((await s.row('c1', 'dev-1'))?.state).toBe('pending');

    await s.write(header('c2'), [row('dev-x')]);
    expect(await s.delete('c1')).toBe(true);
    expect(await s.delete('c1')).toBe(false);
    expect(await s.get('c1')).toBeUndefined();
    expect(await s.rows('c1', undefined, 10)).toEqual({ rows: [] });
    expect((await s.list()).map((d) => d.id)).toEqual(['c2']);
  });

  // only stores that persist can be reopened: the memory store has no such case (not a skip)
  if (reopen) it('a reopened store has the headers and rows written before', async () => {
    const s = await open('reopen');
    const h = header('r1', { counts: { pending: 1, done: 1 }, total: 2 });
    await s.write(h, [row('dev-1'), row('dev-2')]);
    await s.write(h, [row('dev-2', { state: 'done', attempts: 1 })]);
    await (s as { close?: () => Promise<void> }).close?.();
    const again = await reopen!('reopen');
    expect(await again.get('r1')).toEqual(h);
    expect(await collect(again, 'r1')).toEqual([row('dev-1'), row('dev-2', { state: 'done', attempts: 1 })]);
  });
});

describe('JSON-file deployment store: crashes and old files', () => {
  it('a writer killed (SIGKILL) mid-rollout: every row it had written is there after reopening, counts recomputed from the rows', async () => {
    const file = path.join(dir, 'killed.json');
    const ROWS = 2000;
    const writer = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./deployment-store-writer.ts', import.meta.url)), file, String(ROWS)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let lastRound = -1;
    let lastIndex = 0;
    let out = '';
    // kill once it has gone round the rows several times (the journal has been compacted while running)
    await new Promise<void>((resolve, reject) => {
      writer.on('exit', (code) => reject(new Error(`writer exited early (${code})`)));
      writer.stdout!.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const lines = out.split('\n');
        out = lines.pop()!;
        for (const l of lines) {
          const m = /^done (\d+) (\d+)$/.exec(l);
          if (!m) continue;
          lastRound = Number(m[1]);
          lastIndex = Number(m[2]);
        }
        if (lastRound >= 8 && lastIndex >= 700) {
          writer.removeAllListeners('exit');
          writer.kill('SIGKILL');
          writer.on('exit', () => resolve());
        }
      });
    });
    const s = await JsonDeploymentStore.open(file);
    const rows = await collect(s, 'crash');
    expect(rows).toHaveLength(ROWS);
    // announced rows: done with at least the attempts of the last announced round; the rest with the round before
    for (const [i, r] of rows.entries()) {
      expect(r.state).toBe('done');
      expect(r.attempts, r.endpoint).toBeGreaterThanOrEqual(i < lastIndex ? lastRound + 1 : lastRound);
    }
    const h = (await s.get('crash'))!;
    expect(h.counts).toEqual({ done: ROWS });
    expect(h.total).toBe(ROWS);
    // the journal was compacted on open: one line per row
    expect((await readFile(`${file}.rows`, 'utf8')).trimEnd().split('\n')).toHaveLength(ROWS);
  }, 120_000);

  it('a journal whose last line was cut short by a crash: the line is skipped, the rest read', async () => {
    const file = path.join(dir, 'cut.json');
    const s = await JsonDeploymentStore.open(file);
    await s.write(header('cut', { counts: { pending: 2 }, total: 2 }), [row('dev-1'), row('dev-2')]);
    await appendFile(`${file}.rows`, '{"d":"cut","r":{"endpoint":"dev-2","state":"do');
    const again = await JsonDeploymentStore.open(file);
    expect(again.skippedLines).toBe(1);
    expect(await collect(again, 'cut')).toEqual([row('dev-1'), row('dev-2')]);
    // and the store goes on appending after it: the cut line is gone since the compaction on open
    await again.write(header('cut', { counts: { pending: 1, done: 1 }, total: 2 }), [row('dev-2', { state: 'done' })]);
    const third = await JsonDeploymentStore.open(file);
    expect(third.skippedLines).toBe(0);
    expect((await third.row('cut', 'dev-2'))?.state).toBe('done');
  });

  it('reads a file of the single-record form of before (rows inside the record) and rewrites it as header + journal', async () => {
    const file = path.join(dir, 'old.json');
    const { counts: _c, total: _t, ...old } = header('old1');
    await writeFile(file, JSON.stringify([{ ...old, devices: { 'dev-b': row('dev-b', { state: 'done', attempts: 1 }), 'dev-a': row('dev-a') } }]));
    const s = await JsonDeploymentStore.open(file);
    expect(await s.get('old1')).toEqual({ ...header('old1'), counts: { done: 1, pending: 1 }, total: 2 });
    expect((await collect(s, 'old1')).map((r) => r.endpoint)).toEqual(['dev-a', 'dev-b']);
    expect(JSON.parse(await readFile(file, 'utf8'))[0].devices).toBeUndefined();
    const again = await JsonDeploymentStore.open(file);
    expect(await collect(again, 'old1')).toEqual(await collect(s, 'old1'));
  });
});

describe('Redis deployment store: records of before', () => {
  it('splits a whole-record deployment written by an older node into header and rows on open', async () => {
    const { Redis } = await import('ioredis');
    const direct = new Redis(redis.url);
    const { counts: _c, total: _t, ...old } = header('old2');
    await direct.hset('migrate:deployments', 'old2', JSON.stringify({ ...old, devices: { 'dev-1': row('dev-1', { state: 'failed', attempts: 1 }), 'dev-2': row('dev-2') } }));
    const s = await RedisDeploymentStore.open(redis.url, 'migrate');
    opened.push(s);
    expect(await s.get('old2')).toEqual({ ...header('old2'), counts: { failed: 1, pending: 1 }, total: 2 });
    expect((await collect(s, 'old2')).map((r) => r.state)).toEqual(['failed', 'pending']);
    direct.disconnect();
  });
});
