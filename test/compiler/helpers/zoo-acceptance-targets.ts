// Issue 11 acceptance for the zoo models built from ops the first round refused (Tanh, Sigmoid,
// Concat, Transpose, grouped convolution, a dynamic batch, PyTorch's x.view(x.size(0), -1)): the
// model compiles for esp32, nrf52840 and stm32f746 and its int8 module is within 0.3 points of the
// float model (onnxruntime-node) on the FULL Fashion-MNIST test set (10,000 images).
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { compile } from '../../../compiler/compile.ts';
import { importOnnx } from '../../../compiler/onnx/import-onnx.ts';
import { loadFashionMnist } from '../../../compiler/quantize/calibration-set.ts';
import { argmax } from '../../../compiler/quantize/evaluate.ts';
import { loadModule } from '../../../compiler/runtime/load-module.ts';
import { fits, getTarget } from '../../../compiler/targets/index.ts';
import { zooModel } from '../../../compiler/zoo/zoo.ts';

export const ACCEPTANCE_TARGETS = ['esp32', 'nrf52840', 'stm32f746'] as const;

export function zooTargetsAcceptance(name: string, expectOps: readonly string[]): void {
  it(`${name}: uses ${expectOps.join(', ')}; compiles for ${ACCEPTANCE_TARGETS.join(', ')}; int8 within 0.3 points of float on 10,000 test images`, async () => {
    const path = zooModel(name).path;
    const onnx = readFileSync(path);
    const ops = new Set(importOnnx(onnx).nodes.map((n) => n.op));
    for (const op of expectOps) expect(ops.has(op), `${name} has a ${op} node`).toBe(true);

    // one compile: the int8 program is the same for every target (only the header's target code
    // differs), so the other targets are checked on its footprint, by loading it as they would
    const r = compile(onnx, { target: ACCEPTANCE_TARGETS[0], name });
    for (const target of ACCEPTANCE_TARGETS) {
      const fit = fits({ moduleBytes: r.report.moduleBytes, arenaBytes: r.report.arenaBytes }, getTarget(target));
      expect(fit.fits, `${name} fits ${target}: ${fit.summary}`).toBe(true);
      expect(() => loadModule(r.module, getTarget(target), { anyTarget: true })).not.toThrow();
    }
    const modules = [r];
    const test = loadFashionMnist('test');
    expect(test.images.length).toBe(10000);
    const m = loadModule(modules[0].module);
    const session = await ort.InferenceSession.create(onnx);
    const shape = importOnnx(onnx).inputs[0].shape;
    let int8Ok = 0;
    let floatOk = 0;
    for (let i = 0; i < test.images.length; i++) {
      if (m.invoke(test.images[i]).label === test.labels[i]) int8Ok++;
      const out = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', test.images[i], [...shape]) });
      if (argmax(out[session.outputNames[0]].data as Float32Array) === test.labels[i]) floatOk++;
    }
    const floatAcc = floatOk / 100;
    const int8Acc = int8Ok / 100;
    console.info(`[zoo ${name}] float ${floatAcc.toFixed(2)}%  int8 ${int8Acc.toFixed(2)}%  (${(int8Acc - floatAcc).toFixed(2)} points)  arena ${modules[0].report.arenaBytes} B  module ${modules[0].report.moduleBytes} B`);
    expect(floatAcc).toBeGreaterThan(80);
    expect(Math.abs(int8Acc - floatAcc)).toBeLessThanOrEqual(0.3);
  }, 600_000);
}
