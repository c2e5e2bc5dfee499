// A Collection in Redis: one hash per collection (id -> JSON), so every node sharing the Redis
// sees the same deployments and models. HSET of one field is atomic; a record has one writer
// (the node running the deployment, the node compiling the model).
import { Redis } from 'ioredis';
import type { Collection } from './collection.ts';

export class RedisCollection<T extends { id: string }> implements Collection<T> {
  private constructor(private readonly redis: Redis, private readonly key: string, private readonly owned: boolean) {}

  static async open<T extends { id: string }>(url: string, name: string, prefix = 'tinymlaas'): Promise<RedisCollection<T>> {
    const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 2 });
    redis.on('error', () => undefined); // surfaced by the failing command instead
    await redis.connect();
    return new RedisCollection<T>(redis, `${prefix}:${name}`, true);
  }

  async save(item: T): Promise<void> {
    await this.redis.hset(this.key, item.id, JSON.stringify(item));
  }

  async delete(ids: readonly string[]): Promise<void> {
    if (ids.length > 0) await this.redis.hdel(this.key, ...ids);
  }

  async get(id: string): Promise<T | undefined> {
    const v = await this.redis.hget(this.key, id);
    return v === null ? undefined : (JSON.parse(v) as T);
  }

  async all(): Promise<T[]> {
    return Object.values(await this.redis.hgetall(this.key)).map((v) => JSON.parse(v) as T);
  }

  async close(): Promise<void> {
    if (this.owned) this.redis.disconnect();
  }
}
