// Registrations in Redis, so several server nodes share one fleet (issue 5). Layout under a key
// prefix (default "lwm2m:"):
//   <prefix>reg   hash    registration id -> registration as JSON
//   <prefix>ep    hash    endpoint name   -> registration id
//   <prefix>exp   zset    registration id scored by expiresAt (ms), for expired(now)
// Three keys for the whole fleet rather than three per device: small hash fields cost less than
// top-level keys, and every multi-key change runs in one Lua script, so two nodes registering the
// same endpoint at once leave exactly one registration and a consistent index.
import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from 'pino';
import type { Registration } from '../registration/registration.ts';
import type { RegistrationStore } from './registration-store.ts';
import { StoreUnavailableError } from './store-error.ts';

// KEYS: reg, ep, exp   ARGV: id, endpoint, json, expiresAt
// Returns the JSON of the registration it replaced (same endpoint), or false.
const ADD = `
local oldId = redis.call('HGET', KEYS[2], ARGV[2])
local old = false
if oldId then
  old = redis.call('HGET', KEYS[1], oldId)
  redis.call('HDEL', KEYS[1], oldId)
  redis.call('ZREM', KEYS[3], oldId)
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
redis.call('HSET', KEYS[2], ARGV[2], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[1])
return old`;

// KEYS: reg, exp   ARGV: id, json, expiresAt
// Replaces only a registration that still exists (it may have been replaced or removed meanwhile).
const UPDATE = `
local old = redis.call('HGET', KEYS[1], ARGV[1])
if not old then return false end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
return old`;

// KEYS: reg, ep, exp   ARGV: id
// The endpoint index is dropped only when it still points at this id (a newer registration keeps it).
const REMOVE = `
local old = redis.call('HGET', KEYS[1], ARGV[1])
if not old then return false end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
local ep = cjson.decode(old)['endpoint']
if redis.call('HGET', KEYS[2], ep) == ARGV[1] then redis.call('HDEL', KEYS[2], ep) end
return old`;

// KEYS: ep, reg   ARGV: endpoint — the index and the registration in one round trip
const BY_ENDPOINT = `
local id = redis.call('HGET', KEYS[1], ARGV[1])
if not id then return false end
return redis.call('HGET', KEYS[2], id)`;

type Scripts = {
  lwm2mByEndpoint(ep: string, reg: string, endpoint: string): Promise<string | null>;
  lwm2mAdd(reg: string, ep: string, exp: string, id: string, endpoint: string, json: string, expiresAt: number): Promise<string | null>;
  lwm2mUpdate(reg: string, exp: string, id: string, json: string, expiresAt: number): Promise<string | null>;
  lwm2mRemove(reg: string, ep: string, exp: string, id: string): Promise<string | null>;
};

export type RedisStoreOptions = {
  /** redis://host:port[/db] */
  url: string;
  keyPrefix?: string;
  log?: Logger;
  /** fail a command after this long instead of queueing it while Redis is away */
  commandTimeoutMs?: number;
};

export class RedisRegistrationStore implements RegistrationStore {
  readonly redis: Redis;
  private readonly keys: { reg: string; ep: string; exp: string };
  private lastError: string | undefined;

  constructor(private readonly opts: RedisStoreOptions) {
    const prefix = opts.keyPrefix ?? 'lwm2m:';
    this.keys = { reg: `${prefix}reg`, ep: `${prefix}ep`, exp: `${prefix}exp` };
    const options: RedisOptions = {
      // a registration must not wait for a Redis that is down: fail the command, the device retries
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      commandTimeout: opts.commandTimeoutMs ?? 2000,
      connectTimeout: 2000,
      retryStrategy: (times) => Math.min(times * 200, 2000),
      lazyConnect: true,
    };
    this.redis = new Redis(opts.url, options);
    this.redis.on('error', (e: Error) => {
      // ioredis reports every failed reconnect; log each distinct failure once
      if (e.message !== this.lastError) opts.log?.error({ err: e.message, url: redactUrl(opts.url) }, 'redis store error');
      this.lastError = e.message;
    });
    this.redis.on('ready', () => {
      if (this.lastError !== undefined) opts.log?.info({ url: redactUrl(opts.url) }, 'redis store reconnected');
      this.lastError = undefined;
    });
    this.redis.defineCommand('lwm2mAdd', { numberOfKeys: 3, lua: ADD });
    this.redis.defineCommand('lwm2mUpdate', { numberOfKeys: 2, lua: UPDATE });
    this.redis.defineCommand('lwm2mRemove', { numberOfKeys: 3, lua: REMOVE });
    this.redis.defineCommand('lwm2mByEndpoint', { numberOfKeys: 2, lua: BY_ENDPOINT });
  }

  /** Connects and checks the server answers; throws StoreUnavailableError when it does not. */
  async connect(): Promise<this> {
    await this.call('connect', async () => {
      await this.redis.connect();
      await this.redis.ping();
    });
    return this;
  }

  async close(): Promise<void> {
    this.redis.disconnect();
  }

  /** True when Redis answers a PING (readiness probe). */
  async ping(): Promise<boolean> {
    try {
      return (await this.redis.ping()) === 'PONG';
    } catch {
      return false;
    }
  }

  private get scripts(): Scripts {
    return this.redis as unknown as Scripts;
  }

  async add(reg: Registration): Promise<Registration | undefined> {
    const { reg: r, ep, exp } = this.keys;
    const old = await this.call('add', () => this.scripts.lwm2mAdd(r, ep, exp, reg.id, reg.endpoint, JSON.stringify(reg), reg.expiresAt));
    return parse(old);
  }

  async update(reg: Registration): Promise<Registration | undefined> {
    const old = await this.call('update', () => this.scripts.lwm2mUpdate(this.keys.reg, this.keys.exp, reg.id, JSON.stringify(reg), reg.expiresAt));
    return parse(old);
  }

  async remove(id: string): Promise<Registration | undefined> {
    const { reg, ep, exp } = this.keys;
    return parse(await this.call('remove', () => this.scripts.lwm2mRemove(reg, ep, exp, id)));
  }

  async byId(id: string): Promise<Registration | undefined> {
    return parse(await this.call('byId', () => this.redis.hget(this.keys.reg, id)));
  }

  async byEndpoint(endpoint: string): Promise<Registration | undefined> {
    return parse(await this.call('byEndpoint', () => this.scripts.lwm2mByEndpoint(this.keys.ep, this.keys.reg, endpoint)));
  }

  async all(): Promise<Registration[]> {
    const values = await this.call('all', () => this.redis.hvals(this.keys.reg));
    return values.map((v) => JSON.parse(v) as Registration);
  }

  async expired(now: number): Promise<Registration[]> {
    const ids = await this.call('expired', () => this.redis.zrangebyscore(this.keys.exp, '-inf', now));
    if (ids.length === 0) return [];
    const values = await this.call('expired', () => this.redis.hmget(this.keys.reg, ...ids));
    return values.filter((v): v is string => v !== null).map((v) => JSON.parse(v) as Registration).filter((r) => r.expiresAt <= now);
  }

  async count(): Promise<number> {
    return this.call('count', () => this.redis.hlen(this.keys.reg));
  }

  /** Deletes the store's keys (tests and benchmarks). */
  async clear(): Promise<void> {
    await this.call('clear', () => this.redis.del(this.keys.reg, this.keys.ep, this.keys.exp));
  }

  private async call<T>(op: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      throw new StoreUnavailableError(`registration store (redis ${redactUrl(this.opts.url)}) ${op} failed: ${(e as Error).message}`, e);
    }
  }
}

function parse(json: string | null | undefined): Registration | undefined {
  return json ? (JSON.parse(json) as Registration) : undefined;
}

/** The URL without its password, for logs and error messages. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
}
