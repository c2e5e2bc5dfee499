// Picks the registration store from the command line: `memory` (default) or `redis://host:port[/db]`.
import type { Logger } from 'pino';
import { MemoryRegistrationStore } from './memory-registration-store.ts';
import { RedisRegistrationStore } from './redis-registration-store.ts';
import type { RegistrationStore } from './registration-store.ts';

export async function openRegistrationStore(spec: string, log: Logger): Promise<RegistrationStore> {
  if (spec === 'memory') return new MemoryRegistrationStore();
  if (/^rediss?:\/\//.test(spec)) {
    return new RedisRegistrationStore({ url: spec, log: log.child({ component: 'store' }) }).connect();
  }
  throw new Error(`--store must be "memory" or a redis:// URL, got "${spec}"`);
}
