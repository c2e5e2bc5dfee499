// Package signatures on the server: the server's own key signs (compiled modules, or on request),
// external signers whose public keys an admin registered attach detached signatures, and every
// stored signature is verified again whenever it is used. A package's identity stays its payload's
// SHA-256; the signature block is added on delivery (signed-delivery.ts).
import { sign, verify } from 'node:crypto';
import {
  appendSignatureBlock, ed25519PublicKey, encodeManifest, keyIdOf, PACKAGE_KINDS, signingInput,
  type PackageKind, type PackageManifest,
} from '../../compiler/module/signed-package.ts';
import type { Collection } from '../store/collection.ts';
import type { SigningKey } from './signing-key.ts';

export type SignerRecord = { id: string; name: string; /** raw Ed25519 public key, base64 */ publicKey: string; createdAt: number };
export type SignatureRecord = { /** the payload digest */ id: string; manifest: string; /** base64 */ signature: string; keyId: string; createdAt: number };

export type PackageMeta = { name: string; version: string; kind: PackageKind; target: string };

export type SignatureStatus =
  | { readonly state: 'signed'; readonly keyId: string; readonly signer: string; readonly manifest: PackageManifest }
  | { readonly state: 'unsigned' }
  | { readonly state: 'invalid'; readonly keyId: string; readonly reason: string };

export class SigningError extends Error {
  constructor(readonly code: 'BAD_KEY' | 'UNKNOWN_SIGNER' | 'BAD_SIGNATURE' | 'BAD_MANIFEST' | 'DIGEST_MISMATCH', message: string) {
    super(message);
  }
}

export class PackageSigning {
  constructor(
    readonly key: SigningKey,
    private readonly signers: Collection<SignerRecord>,
    private readonly signatures: Collection<SignatureRecord>,
    private readonly now: () => number = Date.now,
  ) {}

  /** Registers an external signer's public key (raw 32 bytes); its key id names it in manifests. */
  async addSigner(name: string, publicKey: Uint8Array): Promise<SignerRecord> {
    try {
      ed25519PublicKey(publicKey);
    } catch (e) {
      throw new SigningError('BAD_KEY', (e as Error).message);
    }
    const record: SignerRecord = { id: keyIdOf(publicKey), name, publicKey: Buffer.from(publicKey).toString('base64'), createdAt: this.now() };
    await this.signers.save(record);
    return record;
  }

  async listSigners(): Promise<SignerRecord[]> {
    return (await this.signers.all()).sort((a, b) => a.createdAt - b.createdAt);
  }

  private async trustedKey(keyId: string): Promise<{ key: Uint8Array; signer: string } | undefined> {
    if (keyId === this.key.keyId) return { key: this.key.publicKey, signer: 'server' };
    const s = await this.signers.get(keyId);
    return s && { key: Buffer.from(s.publicKey, 'base64'), signer: s.name };
  }

  /** Signs a payload digest and its metadata with the server's key. */
  async sign(digest: string, meta: PackageMeta): Promise<SignatureStatus> {
    const manifestBytes = encodeManifest({ digest, ...meta, keyId: this.key.keyId });
    const signature = sign(null, signingInput(manifestBytes), this.key.privateKey);
    await this.signatures.save({ id: digest, manifest: Buffer.from(manifestBytes).toString('utf8'), signature: signature.toString('base64'), keyId: this.key.keyId, createdAt: this.now() });
    return this.status(digest);
  }

  /** Stores a detached signature made elsewhere, after checking it against the registered signer. */
  async attach(digest: string, manifest: string, signatureB64: string): Promise<SignatureStatus> {
    let parsed: PackageManifest;
    try {
      parsed = JSON.parse(manifest) as PackageManifest;
    } catch {
      throw new SigningError('BAD_MANIFEST', 'manifest is not JSON');
    }
    if (parsed?.v !== 1 || typeof parsed.keyId !== 'string' || !(PACKAGE_KINDS as readonly string[]).includes(parsed.kind)) {
      throw new SigningError('BAD_MANIFEST', 'manifest needs v 1, digest, name, version, kind (ml-module, firmware, software), target, keyId');
    }
    if (parsed.digest !== digest) throw new SigningError('DIGEST_MISMATCH', `the manifest names ${String(parsed.digest)}, not ${digest}`);
    const trusted = await this.trustedKey(parsed.keyId);
    if (!trusted) throw new SigningError('UNKNOWN_SIGNER', `no registered signer with key id ${parsed.keyId} (POST /signers)`);
    const signature = Buffer.from(signatureB64, 'base64');
    if (signature.length !== 64 || !verify(null, signingInput(Buffer.from(manifest, 'utf8')), ed25519PublicKey(trusted.key), signature)) {
      throw new SigningError('BAD_SIGNATURE', `the signature does not verify with key ${parsed.keyId}`);
    }
    await this.signatures.save({ id: digest, manifest, signature: signature.toString('base64'), keyId: parsed.keyId, createdAt: this.now() });
    return this.status(digest);
  }

  /** Verified now, against the server's key or a registered signer. */
  async status(digest: string): Promise<SignatureStatus> {
    const r = await this.signatures.get(digest);
    if (!r) return { state: 'unsigned' };
    const trusted = await this.trustedKey(r.keyId);
    if (!trusted) return { state: 'invalid', keyId: r.keyId, reason: `signer ${r.keyId} is not registered` };
    const manifestBytes = Buffer.from(r.manifest, 'utf8');
    if (!verify(null, signingInput(manifestBytes), ed25519PublicKey(trusted.key), Buffer.from(r.signature, 'base64'))) {
      return { state: 'invalid', keyId: r.keyId, reason: 'the signature does not verify' };
    }
    const manifest = JSON.parse(r.manifest) as PackageManifest;
    if (manifest.digest !== digest) return { state: 'invalid', keyId: r.keyId, reason: 'the manifest names another package' };
    return { state: 'signed', keyId: r.keyId, signer: trusted.signer, manifest };
  }

  /** The package as delivered: the payload followed by its signature block, when it has a valid one. */
  async deliverable(digest: string, payload: Buffer): Promise<Buffer> {
    const r = await this.signatures.get(digest);
    const status = await this.status(digest);
    if (!r || status.state !== 'signed') return payload;
    // Only our inference modules carry the block: a firmware or software image goes to the device
    // byte for byte, since an independent client's image check knows nothing of it (LWM2M-NOTES:
    // "any LwM2M device"); for those the signature gates the deployment on the server.
    if (status.manifest.kind !== 'ml-module') return payload;
    return Buffer.from(appendSignatureBlock(payload, Buffer.from(r.manifest, 'utf8'), Buffer.from(r.signature, 'base64')));
  }
}
