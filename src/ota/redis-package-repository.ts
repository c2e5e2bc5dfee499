// Package bytes in the shared store (Redis), so any node of a cluster can serve a package another
// node accepted: a pull download (GET /fw/<sha256> on whichever node the device reaches), a push
// write from the node running the deployment, GET /packages/:digest?download. One Redis string per
// package (`<prefix>:blob:<sha256>`), written once with SET NX (content-addressed: the same bytes
// never change). Devices read a package block by block (RFC 7959), so each node keeps recent
// packages in memory, bounded in bytes, and asks Redis again only to learn that one was deleted.
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { StoreUnavailableError } from '../store/store-error.ts';
import { isDigest, sha256Hex, type PackageInfo, type PackageRepository } from './package-repository.ts';

export class PackageTooLargeError extends Error {
  readonly code = 'PACKAGE_TOO_LARGE';
}

export type RedisPackageRepositoryOptions = {
  /** largest package stored, bytes (the API refuses larger uploads with 413 first); default 64 MiB */
  maxBytes?: number;
  /** memory for recently served packages on this node, bytes; default 256 MiB */
  cacheBytes?: number;
  /** a cached package is checked against Redis again (still there?) after this long; default 5 s */
  revalidateMs?: number;
  prefix?: string;
  log?: Logger;
};

type Cached = { bytes: Buffer; checkedAt: number };

export class RedisPackageRepository implements PackageRepository {
  /** insertion order = least recently used first */
  private readonly cache = new Map<string, Cached>();
  private cachedBytes = 0;
  private readonly maxBytes: number;
  private readonly cacheBytes: number;
  private readonly revalidateMs: number;
  private readonly prefix: string;
  private readonly log: Logger | undefined;

  private constructor(private readonly redis: Redis, opts: RedisPackageRepositoryOptions) {
    this.log = opts.log;
    this.maxBytes = opts.maxBytes ?? 64 * 1024 * 1024;
    this.cacheBytes = opts.cacheBytes ?? 256 * 1024 * 1024;
    this.revalidateMs = opts.revalidateMs ?? 5000;
    this.prefix = opts.prefix ?? 'tinymlaas';
  }

  static async open(url: string, opts: RedisPackageRepositoryOptions = {}): Promise<RedisPackageRepository> {
    const redis = new Redis(url, {
      // a 64 MiB SET takes longer than a small command: a generous command timeout
      lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: false, commandTimeout: 30_000, connectTimeout: 2000,
      retryStrategy: (times) => Math.min(times * 200, 2000),
    });
    redis.on('error', () => undefined); // surfaced by the failing command instead
    await redis.connect();
    return new RedisPackageRepository(redis, opts);
  }

  private key(digest: string): string {
    return `${this.prefix}:blob:${digest}`;
  }

  async put(bytes: Uint8Array): Promise<PackageInfo> {
    if (bytes.length > this.maxBytes) throw new PackageTooLargeError(`a package of ${bytes.length} bytes is larger than the ${this.maxBytes} allowed`);
    const digest = sha256Hex(bytes);
    const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    await this.call('put', () => this.redis.set(this.key(digest), buf, 'NX'));
    this.remember(digest, Buffer.from(buf));
    return { digest, size: bytes.length };
  }

  async get(digest: string): Promise<Buffer | undefined> {
    if (!isDigest(digest)) return undefined;
    const hit = this.cache.get(digest);
    if (hit && Date.now() - hit.checkedAt < this.revalidateMs) return this.touch(digest, hit).bytes;
    if (hit) {
      // deleted on another node? (the bytes cannot have changed: the key is their digest)
      if ((await this.call('exists', () => this.redis.exists(this.key(digest)))) === 0) {
        this.forget(digest);
        return undefined;
      }
      hit.checkedAt = Date.now();
      return this.touch(digest, hit).bytes;
    }
    const bytes = await this.call('get', () => this.redis.getBuffer(this.key(digest)));
    if (!bytes) return undefined;
    if (sha256Hex(bytes) !== digest) { // damaged bytes are never served
      this.log?.warn({ digest }, 'package bytes in redis do not match their digest');
      return undefined;
    }
    this.remember(digest, bytes);
    return bytes;
  }

  async has(digest: string): Promise<boolean> {
    if (!isDigest(digest)) return false;
    return (await this.call('exists', () => this.redis.exists(this.key(digest)))) === 1;
  }

  async delete(digest: string): Promise<boolean> {
    if (!isDigest(digest)) return false;
    this.forget(digest);
    return (await this.call('delete', () => this.redis.del(this.key(digest)))) === 1;
  }

  /** Bytes held in this node's memory (tests, metrics). */
  get cachedSize(): number {
    return this.cachedBytes;
  }

  async close(): Promise<void> {
    this.cache.clear();
    this.cachedBytes = 0;
    this.redis.disconnect();
  }

  private touch(digest: string, c: Cached): Cached {
    this.cache.delete(digest);
    this.cache.set(digest, c);
    return c;
  }

  private remember(digest: string, bytes: Buffer): void {
    this.forget(digest);
    if (bytes.length > this.cacheBytes) return;
    while (this.cachedBytes + bytes.length > this.cacheBytes) {
      const oldest = this.cache.keys().next().value;
      if (oldest === undefined) break;
      this.forget(oldest);
    }
    this.cache.set(digest, { bytes, checkedAt: Date.now() });
    this.cachedBytes += bytes.length;
  }

  private forget(digest: string): void {
    const c = this.cache.get(digest);
    if (!c) return;
    this.cache.delete(digest);
    this.cachedBytes -= c.bytes.length;
  }

  private async call<R>(op: string, fn: () => Promise<R>): Promise<R> {
    try {
      return await fn();
    } catch (e) {
      throw new StoreUnavailableError(`package bytes (redis) ${op} failed: ${(e as Error).message}`, e);
    }
  }
}
