// Registration ids (the Location-Path of Register, Transport §6.2.1): 48 random bits as 8
// base64url characters, from a pool (one randomBytes call per Register cost a native call and a
// job object each, a visible share of a registration burst).
import { RandomPool } from '../coap/random-pool.ts';

const pool = new RandomPool(6);

export function newRegistrationId(): string {
  return pool.draw().toString('base64url');
}
