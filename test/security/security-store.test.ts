import { mkdtemp, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { MemorySecurityStore } from '../../src/security/memory-security-store.ts';
import { RedisSecurityStore } from '../../src/security/redis-security-store.ts';
import type { SecurityStore } from '../../src/security/security-store.ts';
import { startRedis } from '../support/services.ts';
import { pskOf, securityStoreContract } from './security-store.contract.ts';

securityStoreContract('memory', async () => ({
  store: async () => MemorySecurityStore.memory(),
  reopen: async () => undefined,
  sharedWriters: false,
  close: async () => undefined,
}));

securityStoreContract('data dir', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'security-'));
  let file = '';
  let n = 0;
  return {
    async store() {
      file = path.join(dir, `s${++n}`, 'security.json');
      return MemorySecurityStore.open(file);
    },
    reopen: () => MemorySecurityStore.open(file),
    sharedWriters: false,
    close: async () => undefined,
  };
});

securityStoreContract('redis', async () => {
  const redis = await startRedis();
  const open: SecurityStore[] = [];
  let prefix = '';
  let n = 0;
  const connect = async (): Promise<SecurityStore> => {
    const s = await RedisSecurityStore.open(redis.url, { keyPrefix: prefix });
    open.push(s);
    return s;
  };
  return {
    async store() {
      prefix = `t${++n}:`;
      return connect();
    },
    reopen: connect,
    sharedWriters: true,
    async close() {
      await Promise.all(open.map((s) => s.close?.()));
      await redis.stop();
    },
  };
});

describe('data dir security store', () => {
  it('writes security.json readable by its owner only', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'security-mode-'));
    const file = path.join(dir, 'security.json');
    const s = await MemorySecurityStore.open(file);
    await s.put(pskOf('m'));
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(file, 'utf8'))).toHaveLength(1);
  });

  it('fails loudly on a corrupt file instead of starting with no security info', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'security-bad-'));
    const file = path.join(dir, 'security.json');
    const { writeFile } = await import('node:fs/promises');
    await writeFile(file, '[{"endpoint":');
    await expect(MemorySecurityStore.open(file)).rejects.toThrow(/not valid JSON/);
  });
});
