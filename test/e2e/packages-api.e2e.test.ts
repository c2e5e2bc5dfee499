// Packages as the operator uploads them: any image with a name, version and kind, stored by
// SHA-256, de-duplicated, size-limited, listed, downloaded, removed; kept in the data dir.
import { createHash } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApi } from '../../src/api/app.ts';
import { quietLogger } from '../../src/log.ts';
import { createRng } from '../helpers/prng.ts';
import { startOtaHarness, type OtaHarness } from './ota-harness.ts';

let h: OtaHarness;
beforeAll(async () => {
  h = await startOtaHarness();
});
afterAll(async () => h.close());

function multipart(fields: Record<string, string>, file?: { name: string; bytes: Buffer }): { payload: Buffer; headers: Record<string, string> } {
  const boundary = '----tinymlaas-packages';
  const parts: Buffer[] = [];
  for (const [k, v] of Object.entries(fields)) parts.push(Buffer.from(`--${boundary}\r\ncontent-disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`));
  if (file) parts.push(Buffer.from(`--${boundary}\r\ncontent-disposition: form-data; name="${file.name}"; filename="fw.bin"\r\ncontent-type: application/octet-stream\r\n\r\n`), file.bytes, Buffer.from('\r\n'));
  parts.push(Buffer.from(`--${boundary}--\r\n`));
  return { payload: Buffer.concat(parts), headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } };
}

function randomImage(seed: number, size: number): Buffer {
  return createRng(seed).bytes(size);
}

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

describe('POST/GET/DELETE /packages', () => {
  it('stores a firmware image by SHA-256 from multipart, de-duplicates it, lists and serves it', async () => {
    const img = randomImage(1, 3000);
    const up = await h.api.inject({ method: 'POST', url: '/packages', ...multipart({ name: 'sensor-fw', version: '2.1.0', kind: 'firmware', deviceModel: 'TH-100', labels: '{"channel":"beta"}' }, { name: 'package', bytes: img }) });
    expect(up.statusCode).toBe(201);
    expect(up.json()).toMatchObject({ digest: sha(img), size: 3000, name: 'sensor-fw', version: '2.1.0', kind: 'firmware', deviceModel: 'TH-100', labels: { channel: 'beta' } });
    const again = await h.api.inject({ method: 'POST', url: '/packages', ...multipart({ name: 'other', version: '9', kind: 'software' }, { name: 'package', bytes: img }) });
    expect(again.statusCode).toBe(200);
    expect(again.json()).toMatchObject({ digest: sha(img), name: 'sensor-fw', version: '2.1.0' });
    const meta = await h.api.inject({ method: 'GET', url: `/packages/${sha(img)}` });
    expect(meta.json()).toMatchObject({ digest: sha(img), kind: 'firmware' });
    const dl = await h.api.inject({ method: 'GET', url: `/packages/${sha(img)}?download` });
    expect(dl.headers['content-type']).toBe('application/octet-stream');
    expect(sha(dl.rawPayload)).toBe(sha(img));
  });

  it('takes application/octet-stream with the metadata in the query, and filters the list by kind', async () => {
    const img = randomImage(2, 1500);
    const up = await h.api.inject({ method: 'POST', url: '/packages?name=app&version=1.0.0&kind=software', headers: { 'content-type': 'application/octet-stream' }, payload: img });
    expect(up.statusCode).toBe(201);
    expect(up.json()).toMatchObject({ digest: sha(img), kind: 'software', labels: {} });
    const sw = (await h.api.inject({ method: 'GET', url: '/packages?kind=software' })).json() as { digest: string; kind: string }[];
    expect(sw.map((p) => p.digest)).toContain(sha(img));
    expect(sw.every((p) => p.kind === 'software')).toBe(true);
  });

  it('refuses missing or bad metadata with 400, other media types with 415, and stores nothing', async () => {
    const before = (await h.platform.packages.list()).length;
    const img = randomImage(3, 100);
    const noKind = await h.api.inject({ method: 'POST', url: '/packages', ...multipart({ name: 'x', version: '1' }, { name: 'package', bytes: img }) });
    expect(noKind.statusCode).toBe(400);
    expect(noKind.json().message).toMatch(/kind/);
    const badKind = await h.api.inject({ method: 'POST', url: '/packages', ...multipart({ name: 'x', version: '1', kind: 'bootloader' }, { name: 'package', bytes: img }) });
    expect(badKind.statusCode).toBe(400);
    const badLabels = await h.api.inject({ method: 'POST', url: '/packages', ...multipart({ name: 'x', version: '1', kind: 'firmware', labels: '["a"]' }, { name: 'package', bytes: img }) });
    expect(badLabels.json().message).toMatch(/labels/);
    const badVersion = await h.api.inject({ method: 'POST', url: '/packages', ...multipart({ name: 'x', version: 'a b\n', kind: 'firmware' }, { name: 'package', bytes: img }) });
    expect(badVersion.statusCode).toBe(400);
    const empty = await h.api.inject({ method: 'POST', url: '/packages?name=x&version=1&kind=firmware', headers: { 'content-type': 'application/octet-stream' }, payload: Buffer.alloc(0) });
    expect(empty.statusCode).toBe(400);
    const json = await h.api.inject({ method: 'POST', url: '/packages', payload: { name: 'x' } });
    expect(json.statusCode).toBe(415);
    expect((await h.platform.packages.list()).length).toBe(before);
  });

  it('answers 413 past the size limit, multipart or raw', async () => {
    const small = await buildApi({ server: h.platform.server, log: quietLogger, platform: h.platform, maxPackageBytes: 1000 });
    const before = (await h.platform.packages.list()).length;
    const img = randomImage(4, 5000);
    const mp = await small.inject({ method: 'POST', url: '/packages', ...multipart({ name: 'big', version: '1', kind: 'firmware' }, { name: 'package', bytes: img }) });
    expect(mp.statusCode).toBe(413);
    const raw = await small.inject({ method: 'POST', url: '/packages?name=big&version=1&kind=firmware', headers: { 'content-type': 'application/octet-stream' }, payload: img });
    expect(raw.statusCode).toBe(413);
    expect(raw.json()).toMatchObject({ error: expect.any(String), message: expect.any(String) });
    expect((await h.platform.packages.list()).length).toBe(before);
    await small.close();
  });

  it('deletes a package and its bytes; 404 afterwards', async () => {
    const img = randomImage(5, 700);
    const d = sha(img);
    await h.api.inject({ method: 'POST', url: '/packages?name=gone&version=1&kind=firmware', headers: { 'content-type': 'application/octet-stream' }, payload: img });
    expect((await h.api.inject({ method: 'DELETE', url: `/packages/${d}` })).statusCode).toBe(204);
    expect((await h.api.inject({ method: 'GET', url: `/packages/${d}` })).statusCode).toBe(404);
    expect((await h.api.inject({ method: 'GET', url: `/packages/${d}?download` })).statusCode).toBe(404);
    expect(await h.platform.repo.has(d)).toBe(false);
    expect((await h.api.inject({ method: 'DELETE', url: `/packages/${d}` })).statusCode).toBe(404);
  });

  it('keeps packages in the data dir across a restart', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'packages-'));
    const img = randomImage(6, 2048);
    const first = await startOtaHarness({ dataDir });
    await first.api.inject({ method: 'POST', url: '/packages?name=kept&version=3&kind=firmware', headers: { 'content-type': 'application/octet-stream' }, payload: img });
    await first.close();
    const second = await startOtaHarness({ dataDir });
    try {
      expect((await second.api.inject({ method: 'GET', url: `/packages/${sha(img)}` })).json()).toMatchObject({ name: 'kept', version: '3', kind: 'firmware' });
      expect(sha((await second.api.inject({ method: 'GET', url: `/packages/${sha(img)}?download` })).rawPayload)).toBe(sha(img));
    } finally {
      await second.close();
    }
  });
});
