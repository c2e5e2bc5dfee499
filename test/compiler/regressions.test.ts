// Bugs the int8 conformance gate found (issue 11 §2), each pinned by the smallest model that hit it.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compile } from '../../compiler/compile.ts';
import { importOnnx } from '../../compiler/onnx/import-onnx.ts';
import { calibrate } from '../../compiler/quantize/calibrate.ts';
import { quantizeMultiplier } from '../../compiler/quantize/quantize-multiplier.ts';
import { softmaxParams } from '../../compiler/quantize/ops/softmax.ts';
import { runFloat } from '../../compiler/reference/executor.ts';
import { loadModule } from '../../compiler/runtime/load-module.ts';
import { randomInputs } from './helpers/back-end.ts';
import { attr, buildModel, floatTensor } from './helpers/onnx-builder.ts';

describe('issue 11 §2 regressions', () => {
  it('calibrate() without an onSample callback counts its samples', () => {
    const g = importOnnx(buildModel({ inputs: [{ name: 'x', shape: [1, 4] }], outputs: [{ name: 'y' }], nodes: [{ op: 'Relu', inputs: ['x'], outputs: ['y'] }] }));
    const ranges = calibrate(g, [Float32Array.of(-1, 0, 2, 3), Float32Array.of(0, 5, 1, 1)]);
    expect(ranges.get('y')).toEqual({ min: 0, max: 5 });
    expect(() => calibrate(g, [])).toThrow(/at least one sample/);
  });

  it('a multiplier above 2^31 saturates to (2^31 - 1, shift 30) as TFLite QuantizeMultiplier does', () => {
    expect(quantizeMultiplier(2147483647)).toEqual({ multiplier: 2147483647, shift: 30 });
    expect(quantizeMultiplier(1e12)).toEqual({ multiplier: 2147483647, shift: 30 });
    expect(quantizeMultiplier(2 ** 29)).toEqual({ multiplier: 2 ** 30, shift: 30 });
    const p = softmaxParams(1000); // beta * scale * 2^26 is far above 2^31
    expect(p.inputLeftShift).toBe(30);
    expect(p.diffMin).toBe(-1); // radius floor(31 * 2^26 / 2^30) = 1
    const tiny = softmaxParams(1e-12); // below 1: no left shift, mantissa scaled down
    expect(tiny.inputLeftShift).toBe(0);
    expect(tiny.inputMultiplier).toBeLessThan(2 ** 30);
  });

  it('test_softmax_large_number (ONNX backend case) compiles to int8 and ranks like the float reference', () => {
    const dir = '/usr/share/libonnx-testdata/data/node/test_softmax_large_number';
    const onnx = readFileSync(`${dir}/model.onnx`);
    const g = importOnnx(onnx);
    const n = g.inputs[0].shape.reduce((a, b) => a * b, 1);
    const calib = [Float32Array.from({ length: n }, (_, i) => [1, 2, 3, 4, 10000, 10001, 10002, 10003][i % 8])];
    const r = compile(onnx, { target: 'esp32', calibration: calib });
    expect(r.report.ops.map((o) => o.op)).toContain('SOFTMAX');
    // At input scale ~39 (range 0..10003) the values 1..4 are one int8 step: compare with the float
    // softmax of the input as the module sees it (quantized, dequantized), within one output step.
    const inT = r.contents.tensors[r.contents.input];
    expect(inT.scale).toBeGreaterThan(30);
    const seen = calib[0].map((v) => inT.scale * Math.max(-128 - inT.zeroPoint, Math.min(127 - inT.zeroPoint, Math.round(v / inT.scale))));
    const want = runFloat(r.graph, { [g.inputs[0].name]: seen }).get(g.outputs[0].name) as Float32Array;
    const got = loadModule(r.module).invoke(calib[0]).dequantized;
    for (let i = 0; i < want.length; i++) expect(Math.abs(got[i] - want[i]), `element ${i}`).toBeLessThanOrEqual(1 / 256);
  });

  it('a standalone BatchNormalization with batch 2 makes a module the verifier accepts, per sample', () => {
    const c = 3;
    const onnx = buildModel({
      inputs: [{ name: 'x', shape: [2, c, 4, 4] }],
      outputs: [{ name: 'y' }],
      initializers: [floatTensor('s', [1.5, -0.5, 2]), floatTensor('b', [0.1, 0.2, -0.3]), floatTensor('m', [0.5, 0, -0.5]), floatTensor('v', [1, 2, 0.5])],
      nodes: [{ op: 'BatchNormalization', inputs: ['x', 's', 'b', 'm', 'v'], outputs: ['y'], attrs: { epsilon: attr.f(1e-5) } }],
    });
    const calib = randomInputs(8, 2 * c * 16, 11, -1, 1);
    const r = compile(onnx, { target: 'esp32', calibration: calib });
    expect(r.report.ops.map((o) => o.op)).toEqual(['DEPTHWISE_CONV_2D']);
    const m = loadModule(r.module);
    const x = calib[3];
    const want = runFloat(r.graph, { x }).get('y') as Float32Array;
    const got = m.invoke(x).dequantized;
    const out = r.contents.tensors[r.contents.output];
    for (let i = 0; i < want.length; i++) expect(Math.abs(got[i] - want[i])).toBeLessThanOrEqual(2 * out.scale);
    // the second sample differs from the first: the kernel did not just repeat batch item 0
    expect(Array.from(got.subarray(0, 48))).not.toEqual(Array.from(got.subarray(48)));
  });
});
