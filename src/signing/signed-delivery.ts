// The package repository as devices see it: every package that has a valid signature is served
// (CoAP /fw pull, Block1 push) with its signature block appended; the stored payload is unchanged.
import type { PackageRepository } from '../ota/package-repository.ts';
import type { PackageSigning } from './package-signing.ts';

export function signedDelivery(repo: PackageRepository, signing: PackageSigning): PackageRepository {
  // a rollout reads the package once per device and the package server once per block: keep a few
  // (each read of a signed package would otherwise verify its signature again)
  const cache = new Map<string, Buffer>();
  return {
    put: (bytes) => repo.put(bytes),
    has: (digest) => repo.has(digest),
    async delete(digest) {
      cache.delete(digest);
      return repo.delete(digest);
    },
    async get(digest) {
      const hit = cache.get(digest);
      if (hit) return hit;
      const payload = await repo.get(digest);
      if (!payload) return undefined;
      const bytes = await signing.deliverable(digest, payload);
      // only signed packages are kept: one signed later must not be served unsigned from here
      if (bytes.length !== payload.length) {
        if (cache.size >= 16) cache.delete(cache.keys().next().value!);
        cache.set(digest, bytes);
      }
      return bytes;
    },
  };
}
