// Registrations in Redis, so several server nodes share one fleet (issue 5). Layout under a key
// prefix (default "lwm2m:"):
//   <prefix>reg   hash    registration id -> registration as JSON
//   <prefix>ep    hash    endpoint name   -> registration id
//   <prefix>exp   zset    registration id scored by expiresAt (ms), for expired(now)
//   <prefix>idx   zset    endpoint names, all scored 0: byte-ordered (ZRANGEBYLEX) for paging
// Three keys for the whole fleet rather than three per device: small hash fields cost less than
// top-level keys, and every multi-key change runs in one Lua script, so two nodes registering the
// same endpoint at once leave exactly one registration and a consistent index.
import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from 'pino';
import type { Registration } from '../registration/registration.ts';
import type { RegistrationPage, RegistrationStore } from './registration-store.ts';
import { RedisDataLossWatch } from './redis-data-loss-watch.ts';
import { StoreUnavailableError } from './store-error.ts';

// KEYS: reg, ep, exp, idx   ARGV: id, endpoint, json, expiresAt
// Returns the JSON of the registration it replaced (same endpoint), or false.
const ADD = `
redis.call('ZADD', KEYS[4], 0, ARGV[2])
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

// KEYS: reg, ep, exp, idx   ARGV: id
// The endpoint index is dropped only when it still points at this id (a newer registration keeps it).
const REMOVE = `
local old = redis.call('HGET', KEYS[1], ARGV[1])
if not old then return false end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
local ep = cjson.decode(old)['endpoint']
if redis.call('HGET', KEYS[2], ep) == ARGV[1] then
  redis.call('HDEL', KEYS[2], ep)
  redis.call('ZREM', KEYS[4], ep)
end
return old`;

// KEYS: idx, ep, reg   ARGV: min (ZRANGEBYLEX form), limit
// One page in one round trip: the names, then each one's registration; a name whose registration
// vanished meanwhile is skipped. The last element is the last name read ('' when none), the cursor.
const PAGE = `
local eps = redis.call('ZRANGEBYLEX', KEYS[1], ARGV[1], '+', 'LIMIT', 0, tonumber(ARGV[2]))
local out = {}
for _, ep in ipairs(eps) do
  local id = redis.call('HGET', KEYS[2], ep)
  if id then
    local json = redis.call('HGET', KEYS[3], id)
    if json then out[#out + 1] = json end
  end
end
out[#out + 1] = eps[#eps] or ''
out[#out + 1] = tostring(#eps)
return out`;

// KEYS: ep, reg   ARGV: endpoint — the index and the registration in one round trip
const BY_ENDPOINT = `
local id = redis.call('HGET', KEYS[1], ARGV[1])
if not id then return false end
return redis.call('HGET', KEYS[2], id)`;

// KEYS: reg, ep, exp, idx   ARGV: id, endpoint, json, expiresAt, lastUpdate
// Re-writes a registration after Redis lost its data, unless a newer one of the endpoint is there
// already (the device moved to another node, which re-wrote its own).
const RESTORE = `
local oldId = redis.call('HGET', KEYS[2], ARGV[2])
if oldId then
  local old = redis.call('HGET', KEYS[1], oldId)
  if old and tonumber(cjson.decode(old)['lastUpdate']) >= tonumber(ARGV[5]) then return 0 end
  redis.call('HDEL', KEYS[1], oldId)
  redis.call('ZREM', KEYS[3], oldId)
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
redis.call('HSET', KEYS[2], ARGV[2], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[1])
redis.call('ZADD', KEYS[4], 0, ARGV[2])
return 1`;

/** expired registrations read per HMGET */
const EXPIRED_CHUNK = 500;

type Scripts = {
  lwm2mRestore(reg: string, ep: string, exp: string, idx: string, id: string, endpoint: string, json: string, expiresAt: number, lastUpdate: number): Promise<number>;
  lwm2mByEndpoint(ep: string, reg: string, endpoint: string): Promise<string | null>;
  lwm2mAdd(reg: string, ep: string, exp: string, idx: string, id: string, endpoint: string, json: string, expiresAt: number): Promise<string | null>;
  lwm2mUpdate(reg: string, exp: string, id: string, json: string, expiresAt: number): Promise<string | null>;
  lwm2mRemove(reg: string, ep: string, exp: string, idx: string, id: string): Promise<string | null>;
  lwm2mPage(idx: string, ep: string, reg: string, min: string, limit: number): Promise<string[]>;
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
  private readonly keys: { reg: string; ep: string; exp: string; idx: string };
  private lastError: string | undefined;
  /** registrations this node wrote (by id): written again if Redis comes back without them */
  private readonly mine = new Map<string, Registration>();
  private readonly watch: RedisDataLossWatch;
  private pruned = 0;

  constructor(private readonly opts: RedisStoreOptions) {
    const prefix = opts.keyPrefix ?? 'lwm2m:';
    this.keys = { reg: `${prefix}reg`, ep: `${prefix}ep`, exp: `${prefix}exp`, idx: `${prefix}idx` };
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
    this.redis.defineCommand('lwm2mAdd', { numberOfKeys: 4, lua: ADD });
    this.redis.defineCommand('lwm2mPage', { numberOfKeys: 3, lua: PAGE });
    this.redis.defineCommand('lwm2mRestore', { numberOfKeys: 4, lua: RESTORE });
    this.watch = new RedisDataLossWatch(this.redis, `${prefix}writers`, () => this.restore(), (e) => opts.log?.warn({ err: e.message }, 'redis data-loss check failed'));
    this.redis.defineCommand('lwm2mUpdate', { numberOfKeys: 2, lua: UPDATE });
    this.redis.defineCommand('lwm2mRemove', { numberOfKeys: 4, lua: REMOVE });
    this.redis.defineCommand('lwm2mByEndpoint', { numberOfKeys: 2, lua: BY_ENDPOINT });
  }

  /** Connects and checks the server answers; throws StoreUnavailableError when it does not. */
  async connect(): Promise<this> {
    await this.call('connect', async () => {
      await this.redis.connect();
      await this.redis.ping();
    });
    await this.buildIndex();
    await this.call('connect', () => this.watch.mark());
    return this;
  }

  /**
   * Data written before the endpoint index existed: index it once, in batches (HSCAN), so the
   * first page after an upgrade lists every device.
   */
  private async buildIndex(): Promise<void> {
    const [indexed, endpoints] = await this.call('index', () => Promise.all([this.redis.zcard(this.keys.idx), this.redis.hlen(this.keys.ep)]));
    if (indexed >= endpoints) return;
    let cursor = '0';
    do {
      const [next, fields] = await this.call('index', () => this.redis.hscan(this.keys.ep, cursor, 'COUNT', 1000));
      cursor = next;
      const args: (string | number)[] = [];
      for (let i = 0; i < fields.length; i += 2) args.push(0, fields[i]!);
      if (args.length > 0) await this.call('index', () => this.redis.zadd(this.keys.idx, ...args));
    } while (cursor !== '0');
    this.opts.log?.info({ endpoints }, 'endpoint index built');
  }

  async close(): Promise<void> {
    await this.watch.unmark().catch(() => undefined);
    this.redis.disconnect();
  }

  /** Resolves once a re-write after a reconnect is done (tests). */
  settled(): Promise<void> {
    return this.watch.settled();
  }

  /** Redis came back without our data: write again every registration this node holds. */
  private async restore(): Promise<void> {
    const now = Date.now();
    let rewritten = 0;
    let newerElsewhere = 0;
    const { reg: r, ep, exp, idx } = this.keys;
    const live = [...this.mine.values()].filter((reg) => reg.expiresAt > now);
    for (let i = 0; i < live.length; i += 500) {
      const done = await Promise.all(live.slice(i, i + 500).map((reg) => this.scripts.lwm2mRestore(r, ep, exp, idx, reg.id, reg.endpoint, JSON.stringify(reg), reg.expiresAt, reg.lastUpdate)));
      for (const d of done) if (d === 1) rewritten++; else newerElsewhere++;
    }
    this.opts.log?.warn({ rewritten, newerElsewhere }, 'redis came back without its data: re-wrote the registrations this node holds; those of nodes that are gone are lost until their devices register again');
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
    const { reg: r, ep, exp, idx } = this.keys;
    const old = parse(await this.call('add', () => this.scripts.lwm2mAdd(r, ep, exp, idx, reg.id, reg.endpoint, JSON.stringify(reg), reg.expiresAt)));
    this.mine.set(reg.id, reg);
    if (old) this.mine.delete(old.id);
    return old;
  }

  async update(reg: Registration): Promise<Registration | undefined> {
    const old = parse(await this.call('update', () => this.scripts.lwm2mUpdate(this.keys.reg, this.keys.exp, reg.id, JSON.stringify(reg), reg.expiresAt)));
    if (old) this.mine.set(reg.id, reg);
    return old;
  }

  async remove(id: string): Promise<Registration | undefined> {
    const { reg, ep, exp, idx } = this.keys;
    this.mine.delete(id);
    return parse(await this.call('remove', () => this.scripts.lwm2mRemove(reg, ep, exp, idx, id)));
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

  async page(after: string | undefined, limit: number): Promise<RegistrationPage> {
    // ZRANGEBYLEX: "(" excludes the bound, "-" is the lowest name
    const min = after === undefined ? '-' : `(${after}`;
    const out = await this.call('page', () => this.scripts.lwm2mPage(this.keys.idx, this.keys.ep, this.keys.reg, min, limit));
    const read = Number(out.pop());
    const last = out.pop()!;
    const registrations = out.map((v) => JSON.parse(v) as Registration);
    return read < limit ? { registrations } : { registrations, next: last };
  }

  async expired(now: number): Promise<Registration[]> {
    // what this node once wrote and another node took over: forgotten once long expired
    if (now - this.pruned > 60_000) {
      this.pruned = now;
      for (const [id, r] of this.mine) if (r.expiresAt < now - 60_000) this.mine.delete(id);
    }
    const ids = await this.call('expired', () => this.redis.zrangebyscore(this.keys.exp, '-inf', now));
    const out: Registration[] = [];
    // thousands lapsing at once: read and parsed EXPIRED_CHUNK at a time, so no turn of the event loop parses them all
    for (let i = 0; i < ids.length; i += EXPIRED_CHUNK) {
      const values = await this.call('expired', () => this.redis.hmget(this.keys.reg, ...ids.slice(i, i + EXPIRED_CHUNK)));
      for (const v of values) {
        if (v === null) continue;
        const r = JSON.parse(v) as Registration;
        if (r.expiresAt <= now) out.push(r);
      }
    }
    return out;
  }

  async count(): Promise<number> {
    return this.call('count', () => this.redis.hlen(this.keys.reg));
  }

  /** Deletes the store's keys (tests and benchmarks). */
  async clear(): Promise<void> {
    await this.call('clear', () => this.redis.del(this.keys.reg, this.keys.ep, this.keys.exp, this.keys.idx));
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
