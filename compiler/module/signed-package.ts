// Signed packages (docs/package-signing.md): a trailing block after any package (an inference
// module, a firmware or software image) carries a manifest (the payload's SHA-256 and its name,
// version, kind and target, and the signer's key id) and an Ed25519 signature (RFC 8032) over it:
//
//   payload | manifest (UTF-8 JSON, M bytes) | signature (64) | u32 M | u16 version 1 | u16 0 | "TMLS-SIG"
//
// The block sits after the module's own SHA-256 trailer, so the module layout does not change and
// a reader that strips the block sees exactly the module that was compiled. Shared by the server
// (which signs) and the devices (which verify); no server code here.
import { createHash, createPublicKey, verify, type KeyObject } from 'node:crypto';

export const SIGNATURE_MAGIC = 'TMLS-SIG';
export const SIGNATURE_BLOCK_VERSION = 1;
const FOOTER_BYTES = 16;
const SIGNATURE_BYTES = 64;
const MAX_MANIFEST_BYTES = 4096;
/** domain separation: these signatures cannot be replayed as signatures over anything else */
const SIGNING_CONTEXT = new TextEncoder().encode('TinyMLaaS package manifest v1\n');

export const PACKAGE_KINDS = ['ml-module', 'firmware', 'software'] as const;
export type PackageKind = (typeof PACKAGE_KINDS)[number];

export type PackageManifest = {
  readonly v: 1;
  /** SHA-256 of the payload, lowercase hex */
  readonly digest: string;
  readonly name: string;
  readonly version: string;
  readonly kind: PackageKind;
  /** target id (esp32, ...) or "any" */
  readonly target: string;
  /** keyIdOf(the signer's public key) */
  readonly keyId: string;
};

export type SignatureBlock = { readonly manifest: PackageManifest; readonly manifestBytes: Uint8Array; readonly signature: Uint8Array };

export type SignatureProblem = 'unsigned' | 'malformed' | 'unknown-key' | 'bad-signature' | 'digest-mismatch';

export type SignatureCheck =
  | { readonly ok: true; readonly payload: Uint8Array; readonly manifest: PackageManifest }
  | { readonly ok: false; readonly problem: SignatureProblem; readonly message: string };

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** A signer's key id: the first 8 bytes of the SHA-256 of its raw 32-byte Ed25519 public key, hex. */
export function keyIdOf(rawPublicKey: Uint8Array): string {
  return sha256(rawPublicKey).slice(0, 16);
}

/** RFC 8410 SubjectPublicKeyInfo prefix of an Ed25519 key (OID 1.3.101.112) */
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

export function ed25519PublicKey(raw: Uint8Array): KeyObject {
  if (raw.length !== 32) throw new Error(`an Ed25519 public key is 32 bytes, got ${raw.length}`);
  return createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
}

/** The raw 32 bytes of an Ed25519 public KeyObject. */
export function rawPublicKey(key: KeyObject): Uint8Array {
  const der = key.export({ format: 'der', type: 'spki' });
  return new Uint8Array(der.subarray(der.length - 32));
}

/** The manifest's bytes, fields in a fixed order (what external signers sign too). */
export function encodeManifest(m: Omit<PackageManifest, 'v'>): Uint8Array {
  const canonical = { v: 1, digest: m.digest, name: m.name, version: m.version, kind: m.kind, target: m.target, keyId: m.keyId };
  return new TextEncoder().encode(JSON.stringify(canonical));
}

/** What the Ed25519 signature covers. */
export function signingInput(manifestBytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(SIGNING_CONTEXT.length + manifestBytes.length);
  out.set(SIGNING_CONTEXT, 0);
  out.set(manifestBytes, SIGNING_CONTEXT.length);
  return out;
}

export function appendSignatureBlock(payload: Uint8Array, manifestBytes: Uint8Array, signature: Uint8Array): Uint8Array {
  if (signature.length !== SIGNATURE_BYTES) throw new Error(`an Ed25519 signature is ${SIGNATURE_BYTES} bytes, got ${signature.length}`);
  if (manifestBytes.length > MAX_MANIFEST_BYTES) throw new Error(`manifest larger than ${MAX_MANIFEST_BYTES} bytes`);
  const out = new Uint8Array(payload.length + manifestBytes.length + SIGNATURE_BYTES + FOOTER_BYTES);
  out.set(payload, 0);
  out.set(manifestBytes, payload.length);
  out.set(signature, payload.length + manifestBytes.length);
  const footer = new DataView(out.buffer, out.byteOffset + out.length - FOOTER_BYTES, FOOTER_BYTES);
  footer.setUint32(0, manifestBytes.length, true);
  footer.setUint16(4, SIGNATURE_BLOCK_VERSION, true);
  footer.setUint16(6, 0, true);
  out.set(new TextEncoder().encode(SIGNATURE_MAGIC), out.length - 8);
  return out;
}

function parseManifest(bytes: Uint8Array): PackageManifest | string {
  let m: unknown;
  try {
    m = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    return 'manifest is not UTF-8 JSON';
  }
  const o = m as Record<string, unknown>;
  if (!o || typeof o !== 'object' || o.v !== 1) return 'manifest version is not 1';
  for (const k of ['digest', 'name', 'version', 'kind', 'target', 'keyId'] as const) if (typeof o[k] !== 'string') return `manifest field "${k}" is missing`;
  if (!/^[0-9a-f]{64}$/.test(o.digest as string)) return 'manifest digest is not a SHA-256';
  if (!(PACKAGE_KINDS as readonly string[]).includes(o.kind as string)) return `manifest kind "${String(o.kind)}" is unknown`;
  return o as PackageManifest;
}

/**
 * Splits a package into its payload and signature block. No block (no magic at the end): the
 * whole input is the payload. A block that does not parse is reported, never guessed around.
 */
export function splitSignedPackage(bytes: Uint8Array): { payload: Uint8Array; block?: SignatureBlock; malformed?: string } {
  if (bytes.length < FOOTER_BYTES || new TextDecoder().decode(bytes.subarray(bytes.length - 8)) !== SIGNATURE_MAGIC) return { payload: bytes };
  const footer = new DataView(bytes.buffer, bytes.byteOffset + bytes.length - FOOTER_BYTES, FOOTER_BYTES);
  const manifestLength = footer.getUint32(0, true);
  if (footer.getUint16(4, true) !== SIGNATURE_BLOCK_VERSION) return { payload: bytes, malformed: `signature block version ${footer.getUint16(4, true)} is not supported` };
  if (manifestLength > MAX_MANIFEST_BYTES || manifestLength + SIGNATURE_BYTES + FOOTER_BYTES > bytes.length) return { payload: bytes, malformed: 'signature block lengths do not fit the package' };
  const sigStart = bytes.length - FOOTER_BYTES - SIGNATURE_BYTES;
  const manifestStart = sigStart - manifestLength;
  const manifestBytes = bytes.subarray(manifestStart, sigStart);
  const manifest = parseManifest(manifestBytes);
  if (typeof manifest === 'string') return { payload: bytes, malformed: manifest };
  return { payload: bytes.subarray(0, manifestStart), block: { manifest, manifestBytes, signature: bytes.subarray(sigStart, sigStart + SIGNATURE_BYTES) } };
}

/** The payload of a package that carries a well-formed signature block; the input otherwise. */
export function stripSignatureBlock(bytes: Uint8Array): Uint8Array {
  const s = splitSignedPackage(bytes);
  return s.block ? s.payload : bytes;
}

/**
 * What a device does before installing: the package must carry a block, signed by one of the keys
 * it trusts (a device holds up to two, for rotation), over a manifest naming this very payload.
 */
export function verifySignedPackage(bytes: Uint8Array, trusted: readonly Uint8Array[]): SignatureCheck {
  const s = splitSignedPackage(bytes);
  if (s.malformed) return { ok: false, problem: 'malformed', message: `signature block: ${s.malformed}` };
  if (!s.block) return { ok: false, problem: 'unsigned', message: 'the package is not signed' };
  const { manifest, manifestBytes, signature } = s.block;
  const key = trusted.find((k) => keyIdOf(k) === manifest.keyId);
  if (!key) return { ok: false, problem: 'unknown-key', message: `signed by key ${manifest.keyId}, which this device does not trust` };
  if (!verify(null, signingInput(manifestBytes), ed25519PublicKey(key), signature)) {
    return { ok: false, problem: 'bad-signature', message: `the signature by key ${manifest.keyId} does not verify` };
  }
  const digest = sha256(s.payload);
  if (digest !== manifest.digest) return { ok: false, problem: 'digest-mismatch', message: `the payload's SHA-256 ${digest} is not the signed ${manifest.digest}` };
  return { ok: true, payload: s.payload, manifest };
}
