// Tokens: one contract over memory, the data dir (JSON file) and Redis; only hashes are stored; a
// token survives a restart where the store does; the first admin token is made exactly once.
import { mkdtemp, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureAdminToken } from '../../src/access/first-admin.ts';
import { TokenStore, type TokenRecord } from '../../src/access/token-store.ts';
import { quietLogger } from '../../src/log.ts';
import type { Collection } from '../../src/store/collection.ts';
import { JsonCollection } from '../../src/store/json-collection.ts';
import { RedisCollection } from '../../src/store/redis-collection.ts';
import { startRedis, type Service } from '../support/services.ts';
import { secretOf } from '../helpers/access.ts';

let redis: Service;
let dir: string;
const opened: RedisCollection<TokenRecord>[] = [];
beforeAll(async () => {
  redis = await startRedis();
  dir = await mkdtemp(path.join(tmpdir(), 'tokens-'));
});
afterAll(async () => {
  await Promise.all(opened.map((c) => c.close()));
  await redis?.stop();
});

const memory = JsonCollection.memory<TokenRecord>();
const kinds: [string, (name: string) => Promise<Collection<TokenRecord>>][] = [
  ['memory', async () => memory],
  ['data dir', (name) => JsonCollection.open<TokenRecord>(path.join(dir, `${name}.json`))],
  ['Redis', async (name) => {
    const c = await RedisCollection.open<TokenRecord>(redis.url, name, 'test');
    opened.push(c);
    return c;
  }],
];

describe.each(kinds)('token store on %s', (kind, open) => {
  it('verifies what it created, after a reopen too, and stores no secret', async () => {
    let now = 1_000_000;
    const name = `t-${kind.replace(' ', '-')}`;
    const store = new TokenStore(await open(name), () => now);
    const { secret, token } = await store.create('ci-bot', 'deployer', 5_000_000);
    expect(secret).toMatch(/^tmla_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    expect(token).not.toHaveProperty('hash');
    const again = new TokenStore(await open(name), () => now);
    const ok = await again.verify(secret);
    expect(ok).toEqual({ ok: true, token: expect.objectContaining({ id: token.id, name: 'ci-bot', role: 'deployer', lastUsedAt: now }) });
    // one character of the secret changed: unknown, not a crash
    const flipped = secret.slice(0, -1) + (secret.endsWith('A') ? 'B' : 'A');
    expect(await again.verify(flipped)).toEqual({ ok: false, code: 'UNKNOWN' });
    expect(await again.verify('Bearer nonsense')).toEqual({ ok: false, code: 'MALFORMED' });
    const stored = JSON.stringify(await (await open(name)).all());
    expect(stored).not.toContain(secretOf(secret));
    now = 5_000_000;
    expect(await again.verify(secret)).toEqual({ ok: false, code: 'EXPIRED' });
    const other = await again.create('ops', 'operator');
    await again.revoke(other.token.id);
    expect(await again.verify(other.secret)).toEqual({ ok: false, code: 'REVOKED' });
    expect((await again.list()).map((t) => [t.name, t.revokedAt !== undefined])).toEqual([['ci-bot', false], ['ops', true]]);
  });
});

describe('first admin token', () => {
  it('is printed once, and not again while one exists', async () => {
    const store = new TokenStore(JsonCollection.memory<TokenRecord>());
    const printed: string[] = [];
    await ensureAdminToken(store, { log: quietLogger, print: (l) => printed.push(l) });
    await ensureAdminToken(store, { log: quietLogger, print: (l) => printed.push(l) });
    expect(printed).toHaveLength(1);
    const secret = /tmla_\S+/.exec(printed[0]!)![0];
    expect(await store.verify(secret)).toMatchObject({ ok: true, token: { role: 'admin' } });
  });

  it('is written to --admin-token-file (mode 0600) and read back from it at the next start', async () => {
    const file = path.join(dir, 'admin-token');
    const store = new TokenStore(JsonCollection.memory<TokenRecord>());
    await ensureAdminToken(store, { log: quietLogger, file, print: () => expect.fail('must not print') });
    const secret = (await readFile(file, 'utf8')).trim();
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const fresh = new TokenStore(JsonCollection.memory<TokenRecord>());
    await ensureAdminToken(fresh, { log: quietLogger, file });
    expect(await fresh.verify(secret)).toMatchObject({ ok: true, token: { role: 'admin' } });
  });
});
