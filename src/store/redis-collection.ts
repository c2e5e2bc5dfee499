// A Collection in Redis: one hash per collection (id -> JSON), so every node sharing the Redis
// sees the same deployments and models. HSET of one field is atomic; a record has one writer
// (the node running the deployment, the node compiling the model).
// Redis away: commands fail at once with StoreUnavailableError (the API answers 503 with
// Retry-After) rather than queue or hang. Redis back empty: the records this node wrote are
// written again from memory, and the log says what could not be (issue 14 §2).
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Collection } from './collection.ts';
import { RedisDataLossWatch } from './redis-data-loss-watch.ts';
import { StoreUnavailableError } from './store-error.ts';

export class RedisCollection<T extends { id: string }> implements Collection<T> {
  /** what this node saved: written again when Redis comes back without it */
  private readonly written = new Map<string, string>();
  /** ids whose last save failed (Redis away): written when it is back */
  private readonly unsaved = new Set<string>();
  private watch: RedisDataLossWatch | undefined;

  private constructor(private readonly redis: Redis, private readonly key: string, private readonly owned: boolean, private readonly log?: Logger) {}

  static async open<T extends { id: string }>(url: string, name: string, prefix = 'tinymlaas', log?: Logger): Promise<RedisCollection<T>> {
    const redis = new Redis(url, {
      lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: false, commandTimeout: 2000, connectTimeout: 2000,
      retryStrategy: (times) => Math.min(times * 200, 2000),
    });
    redis.on('error', () => undefined); // surfaced by the failing command instead
    await redis.connect();
    const c = new RedisCollection<T>(redis, `${prefix}:${name}`, true, log);
    c.watch = new RedisDataLossWatch(redis, `${prefix}:${name}:writers`, () => c.rewrite(), (e) => log?.warn({ err: e.message, collection: name }, 'redis data-loss check failed'), () => c.writeUnsaved());
    await c.watch.mark();
    return c;
  }

  async save(item: T): Promise<void> {
    const json = JSON.stringify(item);
    // kept before the write: a record saved while Redis is away is written when it returns
    this.written.set(item.id, json);
    try {
      await this.call('save', () => this.redis.hset(this.key, item.id, json));
      this.unsaved.delete(item.id);
      // Redis answers again: what failed before goes now (a stall does not reconnect, so the
      // reconnect check alone would not see it)
      if (this.unsaved.size > 0) await this.writeUnsaved().catch(() => undefined);
    } catch (e) {
      this.unsaved.add(item.id);
      throw e;
    }
  }

  async deleteMany(ids: readonly string[]): Promise<void> {
    if (ids.length > 0) await this.redis.hdel(this.key, ...ids);
  }

  async get(id: string): Promise<T | undefined> {
    const v = await this.call('get', () => this.redis.hget(this.key, id));
    return v === null ? undefined : (JSON.parse(v) as T);
  }

  async delete(id: string): Promise<boolean> {
    return (await this.redis.hdel(this.key, id)) > 0;
  }

  async all(): Promise<T[]> {
    return Object.values(await this.call('all', () => this.redis.hgetall(this.key))).map((v) => JSON.parse(v) as T);
  }

  /** Resolves once a re-write after a reconnect is done (tests). */
  settled(): Promise<void> {
    return this.watch?.settled() ?? Promise.resolve();
  }

  async close(): Promise<void> {
    if (!this.owned) return;
    await this.watch?.unmark().catch(() => undefined);
    this.redis.disconnect();
  }

  private async writeUnsaved(): Promise<void> {
    if (this.unsaved.size === 0) return;
    const ids = [...this.unsaved];
    await this.redis.hset(this.key, Object.fromEntries(ids.map((id) => [id, this.written.get(id)!])));
    for (const id of ids) this.unsaved.delete(id);
    this.log?.info({ collection: this.key, written: ids.length }, 'redis is back: wrote the records whose saves failed while it was away');
  }

  private async rewrite(): Promise<void> {
    this.unsaved.clear();
    const n = this.written.size;
    if (n > 0) await this.redis.hset(this.key, Object.fromEntries(this.written));
    this.log?.warn({ collection: this.key, rewritten: n }, 'redis came back without its data: re-wrote the records this node saved; records other nodes saved are theirs to re-write (lost if their node is gone)');
  }

  private async call<R>(op: string, fn: () => Promise<R>): Promise<R> {
    try {
      return await fn();
    } catch (e) {
      throw new StoreUnavailableError(`${this.key} (redis) ${op} failed: ${(e as Error).message}`, e);
    }
  }
}
