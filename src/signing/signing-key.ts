// The server's Ed25519 signing key: --signing-key <pem>, else <data dir>/signing-key.pem created
// at the first start (mode 0600), else a key for this run only (memory store).
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { keyIdOf, rawPublicKey } from '../../compiler/module/signed-package.ts';

export type SigningKey = { readonly privateKey: KeyObject; readonly publicKey: Uint8Array; readonly keyId: string };

export function signingKeyOf(privateKey: KeyObject): SigningKey {
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new Error(`the signing key must be Ed25519, got ${privateKey.asymmetricKeyType}`);
  const publicKey = rawPublicKey(createPublicKey(privateKey));
  return { privateKey, publicKey, keyId: keyIdOf(publicKey) };
}

export function generateSigningKey(): SigningKey {
  return signingKeyOf(generateKeyPairSync('ed25519').privateKey);
}

export async function loadSigningKey(opts: { file?: string; dataDir?: string }): Promise<{ key: SigningKey; created: string | undefined }> {
  if (opts.file) return { key: signingKeyOf(createPrivateKey(await readFile(opts.file))), created: undefined };
  if (!opts.dataDir) return { key: generateSigningKey(), created: undefined };
  const file = path.join(opts.dataDir, 'signing-key.pem');
  try {
    return { key: signingKeyOf(createPrivateKey(await readFile(file))), created: undefined };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`${file}: ${(e as Error).message}`);
  }
  const key = generateSigningKey();
  await mkdir(opts.dataDir, { recursive: true });
  await writeFile(file, key.privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600, flag: 'wx' });
  return { key, created: file };
}
