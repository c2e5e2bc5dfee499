import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readModule } from '../../compiler/module/read-module.ts';
import { attr, buildModel, randomTensor, rng } from './helpers/onnx-builder.ts';

const ROOT = new URL('../../', import.meta.url);

function cli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'compiler/cli.ts', ...args], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** a .npy file of float32 samples [n, 1, 28, 28] */
function npy(n: number, seed: number): Uint8Array {
  const header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${n}, 1, 28, 28), }`;
  const padded = header.padEnd(118, ' ') + '\n'; // 10 + 118 = 128: data 16-aligned, as numpy writes
  const rand = rng(seed);
  const data = Float32Array.from({ length: n * 784 }, () => rand());
  const out = new Uint8Array(10 + padded.length + data.byteLength);
  out.set([0x93, ...new TextEncoder().encode('NUMPY'), 1, 0, padded.length & 0xff, padded.length >> 8]);
  out.set(new TextEncoder().encode(padded), 10);
  out.set(new Uint8Array(data.buffer), 10 + padded.length);
  return out;
}

describe('compiler CLI', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tmlm-cli-'));
  const calib = join(dir, 'calib');
  mkdirSync(calib);
  writeFileSync(join(calib, 'a.npy'), npy(8, 1));

  it('compiles a zoo model: module, C header, report.json, text report, progress on stderr', () => {
    const out = join(dir, 'out');
    const r = cli(['compile', '--model', 'compiler/zoo/models/cnn.onnx', '--target', 'stm32f746', '--test-set', '--test-limit', '200', '-o', out]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/arena \d+ B/);
    expect(r.stdout).toMatch(/accuracy on 200: float [\d.]+%, int8 [\d.]+%/);
    expect(r.stderr).toContain('calibrate');
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as { moduleBytes: number; target: string; fit: { fits: boolean } };
    expect(report.target).toBe('stm32f746');
    expect(report.fit.fits).toBe(true);
    const bytes = readFileSync(join(out, 'cnn.tmlm'));
    expect(bytes.length).toBe(report.moduleBytes);
    expect(readModule(bytes).name).toBe('cnn'); // a Buffer (pooled, offset view) reads fine
    expect(readFileSync(join(out, 'cnn.h'), 'utf8')).toContain(`model_len = ${report.moduleBytes}`);
  }, 60_000);

  it('fails with exit 2 and the bytes over when the module does not fit', () => {
    const rand = rng(3);
    const model = join(dir, 'wide.onnx');
    writeFileSync(model, buildModel({
      nodes: [
        { op: 'Flatten', inputs: ['x'], outputs: ['f'] },
        { op: 'Gemm', inputs: ['f', 'w', 'b'], outputs: ['y'], attrs: { transB: attr.i(1) } },
      ],
      inputs: [{ name: 'x', shape: [1, 1, 28, 28] }],
      outputs: [{ name: 'y', shape: [1, 1024] }],
      initializers: [randomTensor('w', [1024, 784], rand, 0.1), randomTensor('b', [1024], rand, 0.1)],
    }));
    const r = cli(['compile', '--model', model, '--target', 'nrf52840', '--calib', calib, '-o', join(dir, 'wide-out')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/does not fit nrf52840: flash over by \d+ bytes/);
  }, 60_000);

  it('rejects bad usage with exit 1 and the usage text', () => {
    const r = cli(['compile', '--model', 'x.onnx']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('usage:');
    expect(cli(['compile', '--model', join(dir, 'missing.onnx'), '--target', 'esp32', '-o', dir]).stderr).toMatch(/ENOENT/);
  }, 60_000);
});
