// Registration ids (the Location-Path of Register, Transport §6.2.1): 48 random bits as 8
// base64url characters. Taken from a pool filled 512 ids at a time: one randomBytes call per
// Register cost a native call and a job object each, a visible share of a registration burst.
import { randomFillSync } from 'node:crypto';

const ID_BYTES = 6;
const pool = Buffer.alloc(ID_BYTES * 512);
let offset = pool.length;

export function newRegistrationId(): string {
  if (offset === pool.length) {
    randomFillSync(pool);
    offset = 0;
  }
  const id = pool.toString('base64url', offset, offset + ID_BYTES);
  offset += ID_BYTES;
  return id;
}
