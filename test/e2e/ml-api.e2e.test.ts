// Bad calls to the model and deployment API get clear errors and change nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { startOtaHarness, type OtaHarness } from './ota-harness.ts';
import { buildApi } from '../../src/api/app.ts';
import { quietLogger } from '../../src/log.ts';
import { waitUntil } from '../support/wait.ts';

let h: OtaHarness;
beforeAll(async () => {
  h = await startOtaHarness();
  await h.client('api-0');
});
afterAll(async () => h.close());

function multipart(fields: Record<string, string>, file?: { name: string; bytes: Buffer }): { payload: Buffer; headers: Record<string, string> } {
  const boundary = '----tinymlaas-test';
  const parts: Buffer[] = [];
  for (const [k, v] of Object.entries(fields)) parts.push(Buffer.from(`--${boundary}\r\ncontent-disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`));
  if (file) parts.push(Buffer.from(`--${boundary}\r\ncontent-disposition: form-data; name="${file.name}"; filename="m.onnx"\r\ncontent-type: application/octet-stream\r\n\r\n`), file.bytes, Buffer.from('\r\n'));
  parts.push(Buffer.from(`--${boundary}--\r\n`));
  return { payload: Buffer.concat(parts), headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } };
}

describe('model and deployment API errors', () => {
  it('rejects an upload past the size limit with 413 and stores nothing', async () => {
    const small = await buildApi({ server: h.platform.server, log: quietLogger, platform: h.platform, maxModelBytes: 1000 });
    const before = (await h.platform.catalog.list()).length;
    const r = await small.inject({ method: 'POST', url: '/models', ...multipart({ name: 'big' }, { name: 'model', bytes: Buffer.alloc(5000, 1) }) });
    expect(r.statusCode).toBe(413);
    expect(r.json()).toMatchObject({ error: expect.any(String), message: expect.stringMatching(/limit|large/i) });
    expect((await h.platform.catalog.list()).length).toBe(before);
    await small.close();
  });

  it('rejects a non-multipart upload (415), a missing file (400) and a bad name (400)', async () => {
    expect((await h.api.inject({ method: 'POST', url: '/models', payload: { x: 1 } })).statusCode).toBe(415);
    expect((await h.api.inject({ method: 'POST', url: '/models', ...multipart({ name: 'x' }) })).json().error).toBe('BAD_UPLOAD');
    expect((await h.api.inject({ method: 'POST', url: '/models', ...multipart({ name: 'bad name!' }, { name: 'model', bytes: Buffer.from([1]) }) })).json().error).toBe('BAD_NAME');
  });

  it('refuses bytes that are not ONNX with 400 and the importer\'s reason, and stores nothing', async () => {
    const before = (await h.platform.catalog.list()).length;
    const up = await h.api.inject({ method: 'POST', url: '/models', ...multipart({ name: 'broken' }, { name: 'model', bytes: Buffer.from('not an onnx model at all') }) });
    expect(up.statusCode).toBe(400);
    expect(up.json()).toMatchObject({ error: 'NOT_ONNX', message: expect.stringMatching(/ONNX/), details: { importer: 'BAD_MODEL' } });
    // a valid ONNX file cut in half no longer parses either
    const cnn = readFileSync('compiler/zoo/models/cnn.onnx');
    const cut = await h.api.inject({ method: 'POST', url: '/models', ...multipart({ name: 'cut' }, { name: 'model', bytes: cnn.subarray(0, cnn.length >> 1) }) });
    expect(cut.statusCode).toBe(400);
    expect(cut.json().error).toBe('NOT_ONNX');
    expect((await h.platform.catalog.list()).length).toBe(before);
  });

  it('answers 400 for an unknown target and 404 for an unknown model', async () => {
    const up = await h.api.inject({ method: 'POST', url: '/models', ...multipart({ name: 'mlp' }, { name: 'model', bytes: readFileSync('compiler/zoo/models/mlp.onnx') }) });
    expect(up.statusCode).toBe(201);
    const id = up.json().id as string;
    expect((await h.api.inject({ method: 'POST', url: `/models/${id}/compile`, payload: { target: 'pdp11' } })).statusCode).toBe(400);
    expect((await h.api.inject({ method: 'POST', url: '/models/nope/compile', payload: { target: 'esp32' } })).statusCode).toBe(404);
  });

  it('refuses deployments without a package, without targets, or with a bad policy, and 409 on aborting a finished one', async () => {
    const none = await h.api.inject({ method: 'POST', url: '/deployments', payload: { moduleDigest: 'a'.repeat(64), method: 'sota-push', selector: { prefix: 'api-' } } });
    expect(none.json()).toMatchObject({ error: 'NO_PACKAGE' });
    const up = await h.api.inject({ method: 'POST', url: '/models', ...multipart({ name: 'cnn' }, { name: 'model', bytes: readFileSync('compiler/zoo/models/cnn.onnx') }) });
    const id = up.json().id as string;
    expect((await h.api.inject({ method: 'POST', url: '/deployments', payload: { modelId: id, target: 'esp32', method: 'sota-push', selector: { prefix: 'api-' } } })).json().error).toBe('NOT_COMPILED');
    const comp = await h.api.inject({ method: 'POST', url: `/models/${id}/compile`, payload: { target: 'esp32' } });
    expect(comp.statusCode).toBe(201);
    expect((await h.api.inject({ method: 'POST', url: '/deployments', payload: { modelId: id, target: 'esp32', method: 'sota-push', selector: { prefix: 'nobody-' } } })).json().error).toBe('NO_TARGETS');
    expect((await h.api.inject({ method: 'POST', url: '/deployments', payload: { modelId: id, target: 'esp32', method: 'teleport', selector: {} } })).statusCode).toBe(400);
    expect((await h.api.inject({ method: 'POST', url: '/deployments', payload: { modelId: id, target: 'esp32', method: 'sota-push', selector: { prefix: 'api-' }, policy: { maxParallel: 0 } } })).statusCode).toBe(400);
    // issue 17: up to 2,000 devices at once, not more
    expect((await h.api.inject({ method: 'POST', url: '/deployments', payload: { modelId: id, target: 'esp32', method: 'sota-push', selector: { prefix: 'api-' }, policy: { maxParallel: 2001 } } })).statusCode).toBe(400);
    const ok = await h.api.inject({ method: 'POST', url: '/deployments', payload: { modelId: id, target: 'esp32', method: 'sota-push', selector: { prefix: 'api-' }, policy: { maxParallel: 2000 } } });
    expect(ok.statusCode).toBe(201);
    await h.platform.engine.settled(ok.json().id);
    expect((await h.api.inject({ method: 'POST', url: `/deployments/${ok.json().id}/abort` })).statusCode).toBe(409);
    expect((await h.api.inject({ method: 'GET', url: '/deployments/nope' })).statusCode).toBe(404);
  });

  it('aborts a running deployment: unfinished devices are skipped', async () => {
    const mod = (await h.platform.catalog.list()).find((m) => m.name === 'cnn')!;
    await Promise.all(Array.from({ length: 6 }, (_, i) => h.client(`abort-${i}`, { faults: { latencyMs: 150 } })));
    const d = await h.api.inject({ method: 'POST', url: '/deployments', payload: { modelId: mod.id, target: 'esp32', method: 'sota-push', selector: { prefix: 'abort-' }, policy: { maxParallel: 1 } } });
    // abort once the rollout is under way on its first device
    await waitUntil('the first device to start', async () => {
      const counts = (await h.api.inject({ method: 'GET', url: `/deployments/${d.json().id}` })).json().counts as Record<string, number>;
      return (counts.pending ?? 0) < 6;
    });
    const a = await h.api.inject({ method: 'POST', url: `/deployments/${d.json().id}/abort` });
    expect(a.statusCode).toBe(200);
    expect(a.json().status).toBe('aborted');
    expect(a.json().counts.skipped).toBeGreaterThanOrEqual(4);
  });
});
