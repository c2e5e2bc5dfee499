// Where tokens and the audit trail live: the same Collection contract as deployments and models,
// so memory (default), the data dir (JSON files) and Redis (shared by the nodes) all work.
import { chmod } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import type { Collection } from '../store/collection.ts';
import { JsonCollection } from '../store/json-collection.ts';
import { RedisCollection } from '../store/redis-collection.ts';
import { AuditLog, type AuditEntry } from './audit-log.ts';
import { TokenStore, type TokenRecord } from './token-store.ts';

export type AccessStores = { tokens: TokenStore; audit: AuditLog; close(): Promise<void> };

export async function openAccessStores(opts: { dataDir?: string; redisUrl?: string; log: Logger }): Promise<AccessStores> {
  let tokens: Collection<TokenRecord>;
  let audit: Collection<AuditEntry>;
  const closers: (() => Promise<void>)[] = [];
  if (opts.redisUrl) {
    const t = await RedisCollection.open<TokenRecord>(opts.redisUrl, 'tokens');
    const a = await RedisCollection.open<AuditEntry>(opts.redisUrl, 'audit');
    closers.push(() => t.close(), () => a.close());
    tokens = t;
    audit = a;
  } else if (opts.dataDir) {
    const file = path.join(opts.dataDir, 'tokens.json');
    tokens = await JsonCollection.open<TokenRecord>(file);
    audit = await JsonCollection.open<AuditEntry>(path.join(opts.dataDir, 'audit.json'));
    // hashes only, yet nobody else needs to read them
    await chmod(file, 0o600).catch(() => undefined);
  } else {
    tokens = JsonCollection.memory<TokenRecord>();
    audit = JsonCollection.memory<AuditEntry>();
  }
  return {
    tokens: new TokenStore(tokens),
    audit: new AuditLog(audit, opts.log.child({ component: 'audit' })),
    async close() {
      await Promise.all(closers.map((c) => c()));
    },
  };
}
