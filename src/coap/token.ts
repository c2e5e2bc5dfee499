// Tokens for our requests (RFC 7252 §5.3.1: at least 32 random bits for a request that goes to
// a peer we have not authenticated; we use 64), from a pool: randomBytes(8) per block of a
// transfer was a native job each. Each token is its own copy, since pending requests and
// observations keep it after the pool is refilled.
import { RandomPool } from './random-pool.ts';

const pool = new RandomPool(8);

export function newToken(): Buffer {
  return Buffer.from(pool.draw());
}
