// Content-addressed store of update packages (inference modules, firmware images): the SHA-256
// of the bytes is the key, so a package URI names exactly one content and never changes.
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile, stat } from 'node:fs/promises';
import path from 'node:path';

export type PackageInfo = { readonly digest: string; readonly size: number };

export type PackageRepository = {
  put(bytes: Uint8Array): Promise<PackageInfo>;
  get(digest: string): Promise<Buffer | undefined>;
  has(digest: string): Promise<boolean>;
  /** removes the bytes; false when there were none */
  delete(digest: string): Promise<boolean>;
};

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export function isDigest(s: string): boolean {
  return /^[0-9a-f]{64}$/.test(s);
}

export class MemoryPackageRepository implements PackageRepository {
  private readonly blobs = new Map<string, Buffer>();

  async put(bytes: Uint8Array): Promise<PackageInfo> {
    const digest = sha256Hex(bytes);
    if (!this.blobs.has(digest)) this.blobs.set(digest, Buffer.from(bytes));
    return { digest, size: bytes.length };
  }

  async get(digest: string): Promise<Buffer | undefined> {
    return this.blobs.get(digest);
  }

  async has(digest: string): Promise<boolean> {
    return this.blobs.has(digest);
  }

  async delete(digest: string): Promise<boolean> {
    return this.blobs.delete(digest);
  }
}

/** Files under <dir>/<first two hex>/<digest>; written to a temp name, then renamed (atomic). */
export class FilePackageRepository implements PackageRepository {
  // packages are served block by block to many devices at once: keep recent ones in memory
  private readonly cache = new Map<string, Buffer>();

  constructor(private readonly dir: string, private readonly cacheEntries = 16) {}

  private file(digest: string): string {
    return path.join(this.dir, digest.slice(0, 2), digest);
  }

  async put(bytes: Uint8Array): Promise<PackageInfo> {
    const digest = sha256Hex(bytes);
    const file = this.file(digest);
    if (!(await this.has(digest))) {
      await mkdir(path.dirname(file), { recursive: true });
      const tmp = `${file}.${process.pid}.tmp`;
      await writeFile(tmp, bytes);
      await rename(tmp, file);
    }
    return { digest, size: bytes.length };
  }

  async get(digest: string): Promise<Buffer | undefined> {
    if (!isDigest(digest)) return undefined;
    const hit = this.cache.get(digest);
    if (hit) return hit;
    try {
      const bytes = await readFile(this.file(digest));
      if (sha256Hex(bytes) !== digest) return undefined; // a damaged file is never served
      if (this.cache.size >= this.cacheEntries) this.cache.delete(this.cache.keys().next().value!);
      this.cache.set(digest, bytes);
      return bytes;
    } catch {
      return undefined;
    }
  }

  async has(digest: string): Promise<boolean> {
    if (!isDigest(digest)) return false;
    try {
      await stat(this.file(digest));
      return true;
    } catch {
      return false;
    }
  }

  async delete(digest: string): Promise<boolean> {
    if (!isDigest(digest)) return false;
    this.cache.delete(digest);
    const had = await this.has(digest);
    await rm(this.file(digest), { force: true });
    return had;
  }
}
