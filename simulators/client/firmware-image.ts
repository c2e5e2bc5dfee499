// The firmware image a firmware-only simulated device takes (not an inference module): it stands
// for any vendor's image, so the server treats it as opaque bytes. Layout, all written by hand:
//   "TMFW" | u8 version length | version (UTF-8) | u8 flags | payload | SHA-256 of everything before (32)
// Flag bit 0 makes the image fail at boot: the device reports State 2 with Update Result 8
// (Object 5, "Firmware update failed"), the old firmware keeps running.
import { createHash } from 'node:crypto';

const MAGIC = Buffer.from('TMFW');
export const FAILS_AT_BOOT = 0x01;

export type FirmwareImageInfo = { version: string; failsAtBoot: boolean };
export type FirmwareImageCheck = { ok: true; info: FirmwareImageInfo } | { ok: false; problem: 'integrity' | 'unsupported-type' };

export function buildFirmwareImage(opts: { version: string; payload?: Uint8Array; failsAtBoot?: boolean }): Buffer {
  const version = Buffer.from(opts.version, 'utf8');
  if (version.length > 255) throw new Error('version: at most 255 bytes');
  const body = Buffer.concat([MAGIC, Buffer.from([version.length]), version, Buffer.from([opts.failsAtBoot ? FAILS_AT_BOOT : 0]), Buffer.from(opts.payload ?? new Uint8Array(0))]);
  return Buffer.concat([body, createHash('sha256').update(body).digest()]);
}

/** The device's check after the last block: the magic says the type, the trailing hash the integrity. */
export function checkFirmwareImage(bytes: Uint8Array): FirmwareImageCheck {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b.length < MAGIC.length || !b.subarray(0, MAGIC.length).equals(MAGIC)) return { ok: false, problem: 'unsupported-type' };
  if (b.length < MAGIC.length + 2 + 32) return { ok: false, problem: 'integrity' };
  const body = b.subarray(0, b.length - 32);
  if (!createHash('sha256').update(body).digest().equals(b.subarray(b.length - 32))) return { ok: false, problem: 'integrity' };
  const vlen = body[MAGIC.length]!;
  if (MAGIC.length + 1 + vlen + 1 > body.length) return { ok: false, problem: 'integrity' };
  const version = body.subarray(MAGIC.length + 1, MAGIC.length + 1 + vlen).toString('utf8');
  const flags = body[MAGIC.length + 1 + vlen]!;
  return { ok: true, info: { version, failsAtBoot: (flags & FAILS_AT_BOOT) !== 0 } };
}
