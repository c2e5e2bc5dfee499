// Tokens for our requests (RFC 7252 §5.3.1: at least 32 random bits for a request that goes to
// a peer we have not authenticated; we use 64). Drawn from a pool refilled 512 tokens at a time:
// randomBytes(8) per block of a transfer was a native job each. Each token is its own copy,
// since pending requests and observations keep it after the pool is refilled.
import { randomFillSync } from 'node:crypto';

const TOKEN_BYTES = 8;
const pool = Buffer.alloc(TOKEN_BYTES * 512);
let offset = pool.length;

export function newToken(): Buffer {
  if (offset === pool.length) {
    randomFillSync(pool);
    offset = 0;
  }
  const token = Buffer.allocUnsafe(TOKEN_BYTES);
  pool.copy(token, 0, offset, offset + TOKEN_BYTES);
  offset += TOKEN_BYTES;
  return token;
}
