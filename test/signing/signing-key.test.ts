// The server's signing key: created once in the data dir (0600) and the same after a restart;
// --signing-key takes an Ed25519 PEM made elsewhere (openssl) and refuses other key types.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { keyIdOf } from '../../compiler/module/signed-package.ts';
import { loadSigningKey } from '../../src/signing/signing-key.ts';

describe('server signing key', () => {
  it('is created in the data dir at the first start and read back at the next', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'signing-'));
    const first = await loadSigningKey({ dataDir: dir });
    expect(first.created).toBe(path.join(dir, 'signing-key.pem'));
    expect(statSync(first.created!).mode & 0o777).toBe(0o600);
    const second = await loadSigningKey({ dataDir: dir });
    expect(second.created).toBeUndefined();
    expect(second.key.keyId).toBe(first.key.keyId);
    expect(first.key.keyId).toBe(keyIdOf(first.key.publicKey));
  });

  it('takes an openssl-made Ed25519 key and refuses a P-256 one', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'signing-'));
    const ed = path.join(dir, 'ed.pem');
    execFileSync('openssl', ['genpkey', '-algorithm', 'ed25519', '-out', ed]);
    // the raw public key openssl prints (last 32 bytes of the DER SubjectPublicKeyInfo) is ours
    const raw = execFileSync('openssl', ['pkey', '-in', ed, '-pubout', '-outform', 'DER']).subarray(-32);
    const { key } = await loadSigningKey({ file: ed });
    expect(Buffer.from(key.publicKey).equals(raw)).toBe(true);
    const ec = path.join(dir, 'ec.pem');
    execFileSync('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', ec]);
    await expect(loadSigningKey({ file: ec })).rejects.toThrow(/must be Ed25519/);
  });
});
