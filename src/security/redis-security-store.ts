// Security info in Redis, shared by the nodes of a cluster. Layout under a key prefix (default
// "lwm2m:"):
//   <prefix>sec       hash  endpoint     -> security info as JSON
//   <prefix>sec:psk   hash  PSK identity -> endpoint
//   <prefix>sec:rpk   hash  public key   -> endpoint
// Every change runs as one Lua script, so two nodes storing the same identity for two endpoints
// at once leave exactly one owner. The keys are stored as given: protect Redis (AUTH, TLS, network).
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { redactUrl } from '../store/redis-registration-store.ts';
import { StoreUnavailableError } from '../store/store-error.ts';
import type { SecurityInfo } from './security-info.ts';
import { indexKeys, NonUniqueSecurityInfoError, type SecurityStore } from './security-store.ts';

// KEYS: sec, psk, rpk   ARGV: endpoint, json, identity or '', publicKey or ''
// Returns {'ok', previous json or false} or {'taken', 'identity'|'publicKey', owner}.
const PUT = `
if ARGV[3] ~= '' then
  local owner = redis.call('HGET', KEYS[2], ARGV[3])
  if owner and owner ~= ARGV[1] then return {'taken', 'identity', owner} end
end
if ARGV[4] ~= '' then
  local owner = redis.call('HGET', KEYS[3], ARGV[4])
  if owner and owner ~= ARGV[1] then return {'taken', 'publicKey', owner} end
end
local old = redis.call('HGET', KEYS[1], ARGV[1])
if old then
  local o = cjson.decode(old)
  if o['identity'] then redis.call('HDEL', KEYS[2], o['identity']) end
  if o['publicKey'] then redis.call('HDEL', KEYS[3], o['publicKey']) end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
if ARGV[3] ~= '' then redis.call('HSET', KEYS[2], ARGV[3], ARGV[1]) end
if ARGV[4] ~= '' then redis.call('HSET', KEYS[3], ARGV[4], ARGV[1]) end
return {'ok', old}`;

// KEYS: sec, psk, rpk   ARGV: endpoint
const REMOVE = `
local old = redis.call('HGET', KEYS[1], ARGV[1])
if not old then return false end
local o = cjson.decode(old)
if o['identity'] and redis.call('HGET', KEYS[2], o['identity']) == ARGV[1] then redis.call('HDEL', KEYS[2], o['identity']) end
if o['publicKey'] and redis.call('HGET', KEYS[3], o['publicKey']) == ARGV[1] then redis.call('HDEL', KEYS[3], o['publicKey']) end
redis.call('HDEL', KEYS[1], ARGV[1])
return old`;

// KEYS: index, sec   ARGV: identity or key
const LOOKUP = `
local ep = redis.call('HGET', KEYS[1], ARGV[1])
if not ep then return false end
return redis.call('HGET', KEYS[2], ep)`;

type Scripts = {
  secPut(sec: string, psk: string, rpk: string, endpoint: string, json: string, identity: string, publicKey: string): Promise<[string, string | null, string?]>;
  secRemove(sec: string, psk: string, rpk: string, endpoint: string): Promise<string | null>;
  secLookup(index: string, sec: string, key: string): Promise<string | null>;
};

export class RedisSecurityStore implements SecurityStore {
  private readonly redis: Redis;
  private readonly keys: { sec: string; psk: string; rpk: string };

  private constructor(private readonly url: string, prefix: string, log?: Logger) {
    this.keys = { sec: `${prefix}sec`, psk: `${prefix}sec:psk`, rpk: `${prefix}sec:rpk` };
    this.redis = new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: 2000, connectTimeout: 2000, lazyConnect: true, retryStrategy: (n) => Math.min(n * 200, 2000) });
    let last: string | undefined;
    this.redis.on('error', (e: Error) => {
      if (e.message !== last) log?.error({ err: e.message, url: redactUrl(url) }, 'redis security store error');
      last = e.message;
    });
    this.redis.defineCommand('secPut', { numberOfKeys: 3, lua: PUT });
    this.redis.defineCommand('secRemove', { numberOfKeys: 3, lua: REMOVE });
    this.redis.defineCommand('secLookup', { numberOfKeys: 2, lua: LOOKUP });
  }

  static async open(url: string, opts: { keyPrefix?: string; log?: Logger } = {}): Promise<RedisSecurityStore> {
    const s = new RedisSecurityStore(url, opts.keyPrefix ?? 'lwm2m:', opts.log);
    await s.call('connect', async () => {
      await s.redis.connect();
      await s.redis.ping();
    });
    return s;
  }

  private get scripts(): Scripts {
    return this.redis as unknown as Scripts;
  }

  async get(endpoint: string): Promise<SecurityInfo | undefined> {
    return parse(await this.call('get', () => this.redis.hget(this.keys.sec, endpoint)));
  }

  async byPskIdentity(identity: string): Promise<SecurityInfo | undefined> {
    return parse(await this.call('byPskIdentity', () => this.scripts.secLookup(this.keys.psk, this.keys.sec, identity)));
  }

  async byPublicKey(publicKey: string): Promise<SecurityInfo | undefined> {
    return parse(await this.call('byPublicKey', () => this.scripts.secLookup(this.keys.rpk, this.keys.sec, publicKey)));
  }

  async put(info: SecurityInfo): Promise<SecurityInfo | undefined> {
    const { identity, publicKey } = indexKeys(info);
    const { sec, psk, rpk } = this.keys;
    const [status, a, b] = await this.call('put', () => this.scripts.secPut(sec, psk, rpk, info.endpoint, JSON.stringify(info), identity ?? '', publicKey ?? ''));
    if (status === 'taken') throw new NonUniqueSecurityInfoError(a as 'identity' | 'publicKey', b!);
    return parse(a);
  }

  async remove(endpoint: string): Promise<SecurityInfo | undefined> {
    const { sec, psk, rpk } = this.keys;
    return parse(await this.call('remove', () => this.scripts.secRemove(sec, psk, rpk, endpoint)));
  }

  async all(): Promise<SecurityInfo[]> {
    return (await this.call('all', () => this.redis.hvals(this.keys.sec))).map((v) => JSON.parse(v) as SecurityInfo);
  }

  async close(): Promise<void> {
    this.redis.disconnect();
  }

  private async call<T>(op: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      // the message names the operation and the server, never the arguments (they may hold a key)
      throw new StoreUnavailableError(`security store (redis ${redactUrl(this.url)}) ${op} failed: ${(e as Error).message}`, e);
    }
  }
}

function parse(json: string | null | undefined | false): SecurityInfo | undefined {
  return json ? (JSON.parse(json) as SecurityInfo) : undefined;
}
