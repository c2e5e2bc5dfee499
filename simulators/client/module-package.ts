// What the simulated device checks in an update package once the last block is in: it must be a
// TinyMLaaS module (magic, format version, bounds, embedded SHA-256) for this device's target,
// fit its flash next to what is installed already and its RAM, and, when the Package URI named a
// digest, be that content. The outcome is a reason the update objects map to their own result codes.
import { createHash } from 'node:crypto';
import { ModuleError } from '../../compiler/module/module-error.ts';
import { loadModule, type DeviceProfile as RuntimeProfile, type LoadedModule } from '../../compiler/runtime/index.ts';
import { stripSignatureBlock, verifySignedPackage } from '../../compiler/module/signed-package.ts';
import { targetByCode } from '../../compiler/targets/index.ts';

export type PackageProblem = 'integrity' | 'unsupported-type' | 'no-flash' | 'no-ram';

export type PackageInfo = {
  /** SHA-256 of the whole package, lowercase hex (32001 Module Digest, the pull URI's name) */
  readonly sha256: string;
  /** the digest the module carries in its trailer (compiler report "digest", loadModule().digest) */
  readonly moduleDigest: string;
  /** module header name (at most 8 bytes) */
  readonly name: string;
  /** the module format has no version field: the first 12 hex digits of sha256 name this build */
  readonly version: string;
  readonly target: string;
  /** key id of the verified signer (32001 Signer Key ID); undefined when the device checks no signatures */
  readonly signerKeyId?: string;
};

export type PackageCheck =
  | { readonly ok: true; readonly info: PackageInfo; readonly module: LoadedModule }
  | { readonly ok: false; readonly problem: PackageProblem; readonly message: string };

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export type CheckOptions = {
  /** the device; undefined skips the target and footprint checks */
  readonly profile?: RuntimeProfile;
  /** flash already taken by other installed modules */
  readonly flashUsed?: number;
  /** digest named by the Package URI: the package's SHA-256 or its embedded module digest must equal it */
  readonly expectedDigest?: string;
  /**
   * Ed25519 keys the device trusts (up to two): when given, the package must carry a signature
   * block by one of them over its payload's digest, or it fails the integrity check
   */
  readonly trustedKeys?: readonly Uint8Array[];
};

export function checkPackage(signedOrPlain: Uint8Array, opts: CheckOptions = {}): PackageCheck {
  let bytes: Uint8Array;
  let signerKeyId: string | undefined;
  if (opts.trustedKeys && opts.trustedKeys.length > 0) {
    const sig = verifySignedPackage(signedOrPlain, opts.trustedKeys);
    // unsigned, unknown key, bad signature, other payload: Object 5 Result 5 / Object 9 Result 53
    if (!sig.ok) return { ok: false, problem: 'integrity', message: sig.message };
    bytes = sig.payload;
    signerKeyId = sig.manifest.keyId;
  } else {
    bytes = stripSignatureBlock(signedOrPlain);
  }
  // the package's identity is its payload's SHA-256 (the digest the server names it by), signed or not
  const sha256 = sha256Hex(bytes);
  const profile = opts.profile && { ...opts.profile, flashBytes: Math.max(0, opts.profile.flashBytes - (opts.flashUsed ?? 0)) };
  let module: LoadedModule;
  try {
    module = loadModule(bytes, profile);
  } catch (e) {
    if (!(e instanceof ModuleError)) throw e;
    return { ok: false, problem: problemOf(e), message: e.message };
  }
  if (opts.expectedDigest !== undefined && opts.expectedDigest !== sha256 && opts.expectedDigest !== module.digest) {
    return { ok: false, problem: 'integrity', message: `the package is not the one the URI names (${opts.expectedDigest}): SHA-256 ${sha256}, module digest ${module.digest}` };
  }
  const code = module.contents.targetCode;
  const target = code === 0 ? 'any' : (targetByCode(code)?.id ?? `code ${code}`);
  return { ok: true, module, info: { sha256, moduleDigest: module.digest, name: module.contents.name, version: sha256.slice(0, 12), target, ...(signerKeyId ? { signerKeyId } : {}) } };
}

function problemOf(e: ModuleError): PackageProblem {
  switch (e.code) {
    case 'BAD_VERSION':
    case 'WRONG_TARGET':
      return 'unsupported-type';
    case 'DOES_NOT_FIT': {
      const flashOver = Number(e.details?.flashOverBy ?? 0);
      return flashOver > 0 ? 'no-flash' : 'no-ram';
    }
    default:
      return 'integrity'; // BAD_MAGIC, TRUNCATED, BAD_DIGEST, OUT_OF_BOUNDS, BAD_OP: damaged or not a module
  }
}
