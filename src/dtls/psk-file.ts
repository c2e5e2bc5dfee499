// A PSK credentials lookup from a JSON file `{ "identity": "hex key", ... }` (`--psk-file`): the
// simple provider the security store replaces. Keys are never logged.
import fs from 'node:fs';
import type { DtlsCredentials } from './credentials.ts';

export type PskFileError = { code: 'PSK_FILE'; message: string };

export function loadPskFile(file: string): { credentials: DtlsCredentials; identities: number } | { error: PskFileError } {
  let json: unknown;
  try {
    json = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    return { error: { code: 'PSK_FILE', message: `${file}: ${e instanceof Error ? e.message : String(e)}` } };
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return { error: { code: 'PSK_FILE', message: `${file}: expected an object {identity: hexKey}` } };
  const keys = new Map<string, Buffer>();
  for (const [identity, hex] of Object.entries(json)) {
    if (typeof hex !== 'string' || !/^([0-9a-fA-F]{2}){1,64}$/.test(hex)) return { error: { code: 'PSK_FILE', message: `${file}: the key of identity "${identity}" is not 1-64 bytes of hex` } };
    keys.set(identity, Buffer.from(hex, 'hex'));
  }
  return { credentials: { pskKey: (id) => keys.get(id.toString('utf8')) }, identities: keys.size };
}
