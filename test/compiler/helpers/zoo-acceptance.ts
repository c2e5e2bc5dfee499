// The zoo acceptance check shared by one test file per model (separate files so vitest runs them
// on separate workers): compile with the default calibration set, then on the FULL Fashion-MNIST
// test set (10,000 images) compare the int8 module (TS runtime) with the float ONNX model
// (onnxruntime-node), and check size, arena and arena bounds.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { compile } from '../../../compiler/compile.ts';
import { fashionMnistDir, loadFashionMnist } from '../../../compiler/quantize/calibration-set.ts';
import { argmax } from '../../../compiler/quantize/evaluate.ts';
import { loadModule } from '../../../compiler/runtime/load-module.ts';
import { zooModel } from '../../../compiler/zoo/zoo.ts';

export const ZOO_DIR = new URL('../../../compiler/zoo/models/', import.meta.url);
export const HAVE_DATA = existsSync(join(fashionMnistDir(), 't10k-images-idx3-ubyte.gz'));

export function zooAcceptance(name: string): void {
  it(`${name}: int8 within 1.0 point of float on 10,000 test images, module <= 0.3x ONNX, greedy <= naive, arena respected`, async () => {
    const onnx = readFileSync(new URL(`${name}.onnx`, ZOO_DIR));
    const test = loadFashionMnist('test');
    expect(test.images.length).toBe(10000);
    const r = compile(onnx, { target: 'esp32', name });

    // int8: the module in the TS runtime, in an arena with guard bands on both sides
    const guard = 64;
    const buf = new Uint8Array(guard + r.report.arenaBytes + guard).fill(0x5a);
    const m = loadModule(r.module, undefined, { arena: buf.subarray(guard) });
    let int8Ok = 0;
    const int8Labels = new Uint8Array(test.images.length);
    test.images.forEach((x, i) => {
      const label = m.invoke(x).label;
      int8Labels[i] = label;
      if (label === test.labels[i]) int8Ok++;
    });
    expect(buf.subarray(0, guard).every((v) => v === 0x5a) && buf.subarray(guard + r.report.arenaBytes).every((v) => v === 0x5a)).toBe(true);

    // float: the original ONNX file in onnxruntime-node
    const session = await ort.InferenceSession.create(onnx);
    let floatOk = 0;
    let agree = 0;
    for (let i = 0; i < test.images.length; i++) {
      const out = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', test.images[i], [1, 1, 28, 28]) });
      const label = argmax(out[session.outputNames[0]].data as Float32Array);
      if (label === test.labels[i]) floatOk++;
      if (label === int8Labels[i]) agree++;
    }
    const floatAcc = (100 * floatOk) / test.images.length;
    const int8Acc = (100 * int8Ok) / test.images.length;
    // printed on purpose: the figures the report and BENCHMARKS.md quote
    console.info(
      `[zoo ${name}] float ${floatAcc.toFixed(2)}%  int8 ${int8Acc.toFixed(2)}%  (${(int8Acc - floatAcc).toFixed(2)} points, agreement ${(agree / 100).toFixed(2)}%)  ` +
        `module ${r.report.moduleBytes} B / onnx ${r.report.onnxBytes} B = ${r.report.sizeRatio.toFixed(3)}x  ` +
        `arena greedy ${r.report.arenaBytesGreedy} B, naive ${r.report.arenaBytesNaive} B  MACs ${r.report.macs}`,
    );
    expect(Math.abs(int8Acc - floatAcc)).toBeLessThanOrEqual(1.0);
    expect(r.report.sizeRatio).toBeLessThanOrEqual(0.3);
    expect(r.report.arenaBytesGreedy).toBeLessThanOrEqual(r.report.arenaBytesNaive);
    // the memory techniques (issue 11 §4) never make the arena larger than TFLM's greedy plan
    expect(r.report.arenaBytes).toBe(r.report.arenaByTechnique.all);
    expect(r.report.arenaBytes).toBeLessThanOrEqual(r.report.arenaBytesGreedy);
    // selectModel ranks by the manifest's int8 figures: they must describe what compile() produces
    const z = zooModel(name);
    expect(z.int8, 'run scripts/zoo-footprints.ts').toMatchObject({ moduleBytes: r.report.moduleBytes, arenaBytes: r.report.arenaBytes, macs: r.report.macs });
    expect(Math.abs((z.int8?.accuracy ?? 0) * 100 - int8Acc)).toBeLessThan(0.011);
  }, 240_000);
}
