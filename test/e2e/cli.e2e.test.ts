// The integrator's CLI against a live API: upload, compile, deploy with a progress bar, status.
import { execFile } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildFirmwareImage } from '../../simulators/client/firmware-image.ts';
import { startOtaHarness, type OtaHarness } from './ota-harness.ts';

const run = promisify(execFile);
let h: OtaHarness;
let api: string;
beforeAll(async () => {
  h = await startOtaHarness();
  await h.api.listen({ host: '127.0.0.1', port: 0 });
  const addr = h.api.server.address();
  api = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  await Promise.all([h.client('cli-a'), h.client('cli-b')]);
});
afterAll(async () => h.close());

const cli = async (...args: string[]): Promise<{ stdout: string; stderr: string }> =>
  run(process.execPath, ['--import', 'tsx', 'src/cli/tinymlaas.ts', '--api', api, ...args], { timeout: 120_000 });

describe('tinymlaas CLI', () => {
  it('uploads, compiles and deploys a model with a progress display, then shows the fleet status', async () => {
    const up = await cli('models', 'upload', 'compiler/zoo/models/cnn.onnx', '--name', 'cnn-cli');
    const model = JSON.parse(up.stdout) as { id: string; name: string };
    expect(model.name).toBe('cnn-cli');
    const comp = await cli('models', 'compile', model.id, '--target', 'esp32');
    expect(comp.stdout).toMatch(/flash \d+ B .* RAM arena \d+ B/);
    const dep = await cli('deploy', model.id, '--target', 'esp32', '--prefix', 'cli-', '--method', 'sota-push');
    expect(dep.stderr).toMatch(/\[#+\] 100%/);
    expect(dep.stdout).toMatch(/completed: \{"done":2\}/);
    const status = JSON.parse((await cli('ml-status')).stdout) as { models: { active: number; modelName: string }[] };
    expect(status.models[0]).toMatchObject({ active: 2, modelName: 'cnn-cli@1.0.0' });
  }, 180_000);

  it('uploads a firmware package, lists it, deploys it to a firmware-only device and removes it', async () => {
    const fw = await h.client('cli-fw', { firmwareOnly: {} });
    const file = path.join(await mkdtemp(path.join(tmpdir(), 'cli-fw-')), 'fw.bin');
    await writeFile(file, buildFirmwareImage({ version: '1.2.3', payload: Buffer.alloc(900, 7) }));
    const up = await cli('packages', 'upload', file, '--name', 'cli-fw', '--version', '1.2.3', '--kind', 'firmware');
    const digest = up.stdout.split(' ')[0]!;
    expect(digest).toMatch(/^[0-9a-f]{64}$/);
    expect((await cli('packages', 'list', '--kind', 'firmware')).stdout).toContain(`${digest} firmware  cli-fw 1.2.3`);
    const dep = await cli('deploy', '--package', digest, '--method', 'fota-pull', '--endpoints', 'cli-fw');
    expect(dep.stdout).toMatch(/completed: \{"done":1\}/);
    expect(fw.store.get([3, 0, 3])).toBe('1.2.3');
    expect((await cli('packages', 'rm', digest)).stdout).toContain(`removed ${digest}`);
    expect(await h.platform.packages.get(digest)).toBeUndefined();
  }, 120_000);

  it('exits non-zero with the API error for a bad call', async () => {
    const r = await cli('models', 'compile', 'nope', '--target', 'esp32').catch((e: { code: number; stderr: string }) => e);
    expect((r as { code: number }).code).toBe(2);
    expect((r as { stderr: string }).stderr).toMatch(/404 MODEL_NOT_FOUND/);
  });
});
