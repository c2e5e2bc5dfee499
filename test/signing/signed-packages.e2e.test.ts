// Signed packages end to end: the server signs, the package travels with its signature block
// (SOTA push and pull, FOTA), simulated devices holding the server's key verify it before install.
// A module re-signed with an unknown key, one with a flipped byte and an unsigned one are each
// refused by the device (Object 9 Update Result 53, Object 5 Update Result 5) and nothing is
// activated; the server itself refuses to deploy unsigned packages unless an admin allows it.
import { generateKeyPairSync, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compile } from '../../compiler/compile.ts';
import { appendSignatureBlock, encodeManifest, keyIdOf, rawPublicKey, signingInput, verifySignedPackage } from '../../compiler/module/signed-package.ts';
import { sha256Hex } from '../../src/ota/package-repository.ts';
import { PackageSigning, type SignatureRecord, type SignerRecord } from '../../src/signing/package-signing.ts';
import { generateSigningKey } from '../../src/signing/signing-key.ts';
import { JsonCollection } from '../../src/store/json-collection.ts';
import type { SimulatedClient } from '../../simulators/client/lwm2m-client.ts';
import { startOtaHarness, zooModule, type OtaHarness } from '../e2e/ota-harness.ts';
import { testAccess, type TestAccess } from '../helpers/access.ts';

let h: OtaHarness;
let t: TestAccess;
let signing: PackageSigning;
let mod: Uint8Array;
let digest: string;
const meta = { name: 'mlp', version: '1.0.0', kind: 'ml-module', target: 'esp32' } as const;

beforeAll(async () => {
  signing = new PackageSigning(generateSigningKey(), JsonCollection.memory<SignerRecord>(), JsonCollection.memory<SignatureRecord>());
  t = await testAccess();
  h = await startOtaHarness({ signing }, { access: t.access });
  mod = zooModule('mlp');
  digest = (await h.platform.repo.put(mod)).digest;
  await signing.sign(digest, meta);
}, 120_000);
afterAll(async () => h?.close());

const device = (ep: string): Promise<SimulatedClient> => h.client(ep, { trustedKeys: [signing.key.publicKey] });

async function deploy(moduleDigest: string, method: string, endpoint: string, opts: { allowUnsigned?: boolean; role?: 'deployer' | 'admin' } = {}): Promise<{ status: number; body: Record<string, unknown> }> {
  const r = await h.api.inject({
    method: 'POST', url: '/deployments', headers: { ...t.bearer(opts.role ?? 'deployer'), 'content-type': 'application/json' },
    payload: JSON.stringify({ moduleDigest, method, selector: { endpoints: [endpoint] }, policy: { retries: 0, deviceTimeoutMs: 30_000, ...(opts.allowUnsigned ? { allowUnsigned: true } : {}) } }),
  });
  return { status: r.statusCode, body: r.json() };
}

async function settledRow(id: string): Promise<{ state: string; error: { code?: string; message: string } | null }> {
  await h.platform.engine.settled(id);
  const d = (await h.api.inject({ method: 'GET', url: `/deployments/${id}`, headers: t.bearer('viewer') })).json() as { devices: { state: string; error: { code?: string; message: string } | null }[] };
  return d.devices[0]!;
}

/** Packages crafted by hand (not through the server's signer), stored under their own digest. */
async function stored(bytes: Uint8Array): Promise<string> {
  return (await h.platform.repo.put(bytes)).digest;
}

function signedBy(payload: Uint8Array, privateKey: ReturnType<typeof generateKeyPairSync>['privateKey'], keyId: string): Uint8Array {
  const manifest = encodeManifest({ digest: sha256Hex(payload), ...meta, keyId });
  return appendSignatureBlock(payload, manifest, sign(null, signingInput(manifest), privateKey));
}

describe('signed packages', () => {
  it('a model rolled out without a target (issue 16) is signed by the server that compiled it, and a device holding the key installs it', async () => {
    await device('sig-profiled-0');
    const m = await h.platform.catalog.add('mlp-signed', '1.0.0', readFileSync('compiler/zoo/models/mlp.onnx'));
    const r = await h.api.inject({
      method: 'POST', url: '/deployments', headers: { ...t.bearer('deployer'), 'content-type': 'application/json' },
      payload: JSON.stringify({ modelId: m.id, selector: { endpoints: ['sig-profiled-0'] }, policy: { retries: 0, deviceTimeoutMs: 30_000 } }),
    });
    expect(r.statusCode, r.body).toBe(201);
    await h.platform.ml.rollouts.settled(r.json().id as string);
    const d = (await h.api.inject({ method: 'GET', url: `/deployments/${r.json().id as string}`, headers: t.bearer('viewer') })).json() as { status: string; groups: { moduleDigest: string }[]; devices: { state: string }[] };
    expect(d.status).toBe('completed');
    expect(d.devices[0]!.state).toBe('done');
    expect((await signing.status(d.groups[0]!.moduleDigest)).state).toBe('signed');
  }, 120_000);

  it('installs a module the server signed, pushed and pulled; the ML Model object names the signer', async () => {
    for (const [ep, method] of [['sig-push', 'sota-push'], ['sig-pull', 'sota-pull']] as const) {
      const c = await device(ep);
      const d = await deploy(digest, method, ep);
      expect(d.status).toBe(201);
      expect((await settledRow(d.body.id as string)).state).toBe('done');
      expect(c.ml!.activeModelId).toBeDefined();
      const id = c.ml!.activeModelId!;
      expect(c.store.get([32001, id, 2])).toBe(digest);
      const keyId = await h.api.inject({ method: 'GET', url: `/devices/${ep}/data/32001/${id}/14`, headers: t.bearer('viewer') });
      expect(keyId.json().node.value).toBe(signing.key.keyId);
      const ml = (await h.api.inject({ method: 'GET', url: `/devices/${ep}/ml`, headers: t.bearer('viewer') })).json() as { models: { digest: string; signerKeyId: string | null }[] };
      expect(ml.models.find((m) => m.digest === digest)?.signerKeyId).toBe(signing.key.keyId);
    }
    const status = await h.api.inject({ method: 'GET', url: `/packages/${digest}/signature`, headers: t.bearer('viewer') });
    expect(status.json()).toMatchObject({ state: 'signed', keyId: signing.key.keyId, signer: 'server', manifest: { digest, name: 'mlp', kind: 'ml-module' } });
  }, 120_000);

  it('what goes out is the payload plus a block the device format reads: verified by the key, the payload unchanged', async () => {
    const delivered = await signing.deliverable(digest, Buffer.from(mod));
    expect(delivered.length).toBeGreaterThan(mod.length + 64);
    expect(Buffer.from(delivered.subarray(0, mod.length)).equals(Buffer.from(mod))).toBe(true);
    const v = verifySignedPackage(delivered, [signing.key.publicKey]);
    expect(v.ok && v.manifest.keyId).toBe(signing.key.keyId);
    const other = generateSigningKey();
    expect(verifySignedPackage(delivered, [other.publicKey])).toMatchObject({ ok: false, problem: 'unknown-key' });
    // key rotation: a device holding the old and the new key accepts either
    expect(verifySignedPackage(delivered, [other.publicKey, signing.key.publicKey]).ok).toBe(true);
  });

  it('is refused by the device when re-signed with an unknown key, with a flipped byte, or unsigned: Result 53, nothing activated', async () => {
    const foreign = generateKeyPairSync('ed25519');
    const unknownKey = signedBy(mod, foreign.privateKey, keyIdOf(rawPublicKey(foreign.publicKey)));
    const good = await signing.deliverable(digest, Buffer.from(mod));
    const flipped = new Uint8Array(good);
    flipped[300] = flipped[300]! ^ 0x01;
    const unsigned = compile(readFileSync('compiler/zoo/models/mlp.onnx'), { target: 'esp32', name: 'mlp-raw' }).module;
    const cases: [string, Uint8Array, RegExp][] = [
      ['sig-unknown', unknownKey, /integrity/],
      ['sig-flipped', flipped, /integrity/],
      ['sig-unsigned', unsigned, /integrity/],
    ];
    for (const [ep, bytes, why] of cases) {
      const c = await device(ep);
      const pkg = await stored(bytes);
      // the server knows no valid signature for these: only an admin may push them at all
      expect((await deploy(pkg, 'sota-push', ep)).body.error).toBe('UNSIGNED_PACKAGE');
      expect((await deploy(pkg, 'sota-push', ep, { allowUnsigned: true })).status).toBe(403);
      const d = await deploy(pkg, 'sota-push', ep, { allowUnsigned: true, role: 'admin' });
      expect(d.status, ep).toBe(201);
      const row = await settledRow(d.body.id as string);
      expect(row.state, ep).toBe('failed');
      expect(row.error?.code, ep).toBe('SW_RESULT_53');
      expect(row.error?.message, ep).toMatch(why);
      // the device reports it in its own object and installed nothing
      expect(c.store.get([9, 0, 9]), ep).toBe(53);
      expect(c.ml!.modelIds(), ep).toEqual([]);
      expect(c.ml!.activeModelId, ep).toBeUndefined();
    }
  }, 180_000);

  it('over FOTA (Object 5) an unsigned image ends with Update Result 5 and the device keeps its firmware', async () => {
    const c = await device('sig-fota');
    const unsigned = compile(readFileSync('compiler/zoo/models/mlp.onnx'), { target: 'esp32', name: 'mlp-fw' }).module;
    const d = await deploy(await stored(unsigned), 'fota-push', 'sig-fota', { allowUnsigned: true, role: 'admin' });
    const row = await settledRow(d.body.id as string);
    expect(row.state).toBe('failed');
    expect(c.store.get([5, 0, 5])).toBe(5);
    expect(c.ml!.modelIds()).toEqual([]);
  }, 120_000);

  it('accepts a detached signature only from a registered signer, and then delivers it', async () => {
    const ext = generateKeyPairSync('ed25519');
    const raw = rawPublicKey(ext.publicKey);
    const payload = compile(readFileSync('compiler/zoo/models/mlp.onnx'), { target: 'esp32', name: 'mlp-ext' }).module;
    const pkg = await stored(payload);
    const manifest = Buffer.from(encodeManifest({ digest: pkg, ...meta, keyId: keyIdOf(raw) })).toString('utf8');
    const signature = sign(null, signingInput(Buffer.from(manifest)), ext.privateKey).toString('base64');
    const attach = (): Promise<{ statusCode: number; json(): Record<string, unknown> }> => h.api.inject({
      method: 'POST', url: `/packages/${pkg}/signature`, headers: { ...t.bearer('deployer'), 'content-type': 'application/json' }, payload: JSON.stringify({ manifest, signature }),
    });
    expect((await attach()).json().error).toBe('UNKNOWN_SIGNER');
    const reg = await h.api.inject({ method: 'POST', url: '/signers', headers: { ...t.bearer('admin'), 'content-type': 'application/json' }, payload: JSON.stringify({ name: 'release-ci', publicKey: Buffer.from(raw).toString('base64') }) });
    expect(reg.statusCode).toBe(201);
    expect(reg.json().keyId).toBe(keyIdOf(raw));
    // a signature over another manifest does not pass
    const forged = await h.api.inject({
      method: 'POST', url: `/packages/${pkg}/signature`, headers: { ...t.bearer('deployer'), 'content-type': 'application/json' },
      payload: JSON.stringify({ manifest: manifest.replace('"1.0.0"', '"9.9.9"'), signature }),
    });
    expect(forged.json().error).toBe('BAD_SIGNATURE');
    const ok = await attach();
    expect(ok.statusCode).toBe(201);
    expect(ok.json()).toMatchObject({ state: 'signed', signer: 'release-ci' });
    // a device that trusts this signer (its second key) installs it
    const c = await h.client('sig-ext', { trustedKeys: [signing.key.publicKey, raw] });
    const d = await deploy(pkg, 'sota-pull', 'sig-ext');
    expect((await settledRow(d.body.id as string)).state).toBe('done');
    expect(c.store.get([32001, c.ml!.activeModelId!, 14])).toBe(keyIdOf(raw));
  }, 120_000);
});
