// Picks the security store the way the registration store is picked: Redis when the server shares
// one (`--store redis://...`), else the data dir's security.json, else memory.
import path from 'node:path';
import type { Logger } from 'pino';
import { MemorySecurityStore } from './memory-security-store.ts';
import { RedisSecurityStore } from './redis-security-store.ts';
import type { SecurityStore } from './security-store.ts';

/** `bootstrap`: the Bootstrap-Server's factory credentials, kept apart from the LwM2M server's. */
export async function openSecurityStore(opts: { store?: string; dataDir?: string; log: Logger; of?: 'lwm2m' | 'bootstrap' }): Promise<SecurityStore> {
  const bootstrap = opts.of === 'bootstrap';
  if (opts.store !== undefined && /^rediss?:\/\//.test(opts.store)) return RedisSecurityStore.open(opts.store, { keyPrefix: bootstrap ? 'lwm2m:bs:' : 'lwm2m:', log: opts.log.child({ component: 'security-store' }) });
  if (opts.dataDir !== undefined) return MemorySecurityStore.open(path.join(opts.dataDir, bootstrap ? 'bootstrap-security.json' : 'security.json'));
  return MemorySecurityStore.memory();
}
