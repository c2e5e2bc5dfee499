// Issue 11 §4: conv+pool fusion, conv+residual-add fusion and in-place element-wise ops lower the
// arena below TFLM's greedy plan with bit-identical outputs, and the replay checker rejects any plan
// where two live tensors share a byte.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compile, type CompileResult } from '../../compiler/compile.ts';
import { NO_TECHNIQUES } from '../../compiler/fusion/memory-techniques.ts';
import type { ModuleOp } from '../../compiler/module/module-types.ts';
import { OpCode } from '../../compiler/module/opcodes.ts';
import { replayPlan, type PlacedTensor } from '../../compiler/planner/replay-plan.ts';
import { loadFashionMnist } from '../../compiler/quantize/calibration-set.ts';
import { loadModule } from '../../compiler/runtime/load-module.ts';
import { zooModel } from '../../compiler/zoo/zoo.ts';
import { randomInputs } from './helpers/back-end.ts';
import { attr, buildModel, randomTensor, rng } from './helpers/onnx-builder.ts';

/** every output byte of `a` and `b` on the same inputs */
function expectSameOutputs(a: CompileResult, b: CompileResult, inputs: readonly Float32Array[]): void {
  const ma = loadModule(a.module);
  const mb = loadModule(b.module);
  for (const x of inputs) expect(mb.invoke(x).output).toEqual(ma.invoke(x).output);
}

const codes = (r: CompileResult): number[] => r.contents.ops.map((o) => o.code);

describe('memory techniques on the zoo', () => {
  const calib = loadFashionMnist('train', 24).images;
  const test = loadFashionMnist('test', 40).images;
  for (const [name, fused, cut] of [
    ['cnn', OpCode.CONV_POOL_2D, 0.25],
    ['bncnn', OpCode.CONV_POOL_2D, 0.25],
    ['lenet', OpCode.LUT, 0.25],
    ['resnet', OpCode.CONV_ADD, 0.25],
  ] as const) {
    it(`${name}: arena at least ${cut * 100}% below greedy, outputs bit-identical`, () => {
      const onnx = readFileSync(zooModel(name).path);
      const plain = compile(onnx, { target: 'esp32', calibration: calib, memory: NO_TECHNIQUES });
      const ours = compile(onnx, { target: 'esp32', calibration: calib });
      expect(plain.report.arenaBytes).toBe(plain.report.arenaBytesGreedy);
      expect(ours.report.arenaBytesGreedy).toBe(plain.report.arenaBytes);
      expect(ours.report.arenaBytes).toBe(ours.report.arenaByTechnique.all);
      expect(ours.report.arenaBytes).toBeLessThanOrEqual((1 - cut) * plain.report.arenaBytes);
      expect(codes(ours)).toContain(fused);
      expectSameOutputs(plain, ours, test);
    });
  }
});

describe('fused kernels against the separate ops', () => {
  // overlapping and padded pools, a grouped conv, a residual with the conv on ADD's second operand,
  // a depthwise conv feeding an average pool with count_include_pad, and a Relu after the Add
  const rand = rng(5);
  const onnx = buildModel({
    inputs: [{ name: 'x', shape: [1, 4, 11, 11] }],
    outputs: [{ name: 'y' }],
    initializers: [
      randomTensor('w1', [8, 2, 3, 3], rand, 0.4), randomTensor('b1', [8], rand, 0.1),
      randomTensor('w2', [8, 8, 3, 3], rand, 0.3), randomTensor('b2', [8], rand, 0.1),
      randomTensor('w3', [8, 8, 1, 1], rand, 0.4), randomTensor('b3', [8], rand, 0.1),
      randomTensor('wd', [8, 1, 3, 3], rand, 0.5), randomTensor('bd', [8], rand, 0.1),
    ],
    nodes: [
      { op: 'Conv', inputs: ['x', 'w1', 'b1'], outputs: ['c1'], attrs: { group: attr.i(2), pads: attr.ints([1, 1, 1, 1]) } },
      { op: 'MaxPool', inputs: ['c1'], outputs: ['p1'], attrs: { kernel_shape: attr.ints([3, 3]), strides: attr.ints([2, 2]), pads: attr.ints([1, 1, 1, 1]) } },
      { op: 'Conv', inputs: ['p1', 'w2', 'b2'], outputs: ['c2'], attrs: { pads: attr.ints([1, 1, 1, 1]) } },
      { op: 'Relu', inputs: ['c2'], outputs: ['c2r'] },
      { op: 'Conv', inputs: ['c2r', 'w3', 'b3'], outputs: ['c3'] },
      { op: 'Add', inputs: ['p1', 'c3'], outputs: ['s'] },
      { op: 'Relu', inputs: ['s'], outputs: ['r'] },
      { op: 'Conv', inputs: ['r', 'wd', 'bd'], outputs: ['d'], attrs: { group: attr.i(8), pads: attr.ints([1, 1, 1, 1]) } },
      { op: 'AveragePool', inputs: ['d'], outputs: ['y'], attrs: { kernel_shape: attr.ints([2, 2]), strides: attr.ints([2, 2]), pads: attr.ints([1, 1, 1, 1]), count_include_pad: attr.i(1) } },
    ],
  });
  const calib = randomInputs(16, 4 * 121, 3, -1, 1);

  it('CONV_POOL_2D and CONV_ADD give the bytes CONV_2D, the pools and ADD give', () => {
    const plain = compile(onnx, { target: 'esp32', calibration: calib, memory: NO_TECHNIQUES });
    const ours = compile(onnx, { target: 'esp32', calibration: calib });
    expect(codes(plain)).not.toContain(OpCode.CONV_POOL_2D);
    expect(codes(ours).filter((c) => c === OpCode.CONV_POOL_2D)).toHaveLength(2);
    const add = ours.contents.ops.find((o) => o.code === OpCode.CONV_ADD) as ModuleOp;
    expect(add.params[0]).toBe(1); // the conv is ADD's second operand
    expect(add.outputs[0]).not.toBe(add.inputs[1]);
    // the sum overwrites the residual (which dies there)
    expect(ours.contents.tensors[add.outputs[0]].offset).toBe(ours.contents.tensors[add.inputs[1]].offset);
    expect(ours.report.arenaBytes).toBeLessThan(plain.report.arenaBytes);
    expectSameOutputs(plain, ours, randomInputs(20, 4 * 121, 9, -1.5, 1.5));
  });

  it('x + conv(x): the fused sum does not overwrite the convolution input it still reads', () => {
    const r = rng(8);
    const model = buildModel({
      inputs: [{ name: 'x', shape: [1, 6, 9, 9] }],
      outputs: [{ name: 'y' }],
      initializers: [randomTensor('w', [6, 6, 3, 3], r, 0.3), randomTensor('b', [6], r, 0.1), randomTensor('w0', [6, 6, 1, 1], r, 0.4)],
      nodes: [
        { op: 'Conv', inputs: ['x', 'w0'], outputs: ['h'] },
        { op: 'Conv', inputs: ['h', 'w', 'b'], outputs: ['c'], attrs: { pads: attr.ints([1, 1, 1, 1]) } },
        { op: 'Add', inputs: ['c', 'h'], outputs: ['y'] },
      ],
    });
    const cal = randomInputs(8, 6 * 81, 4, -1, 1);
    const plain = compile(model, { target: 'esp32', calibration: cal, memory: NO_TECHNIQUES });
    const ours = compile(model, { target: 'esp32', calibration: cal });
    expect(codes(ours)).toContain(OpCode.CONV_ADD);
    expectSameOutputs(plain, ours, randomInputs(10, 6 * 81, 6, -1, 1));
  });

  it('each technique can be switched off alone, and the report says what each saves', () => {
    const r = compile(onnx, { target: 'esp32', calibration: calib }).report.arenaByTechnique;
    expect(r.all).toBeLessThanOrEqual(Math.min(r.withoutConvAdd, r.withoutConvPool, r.withoutInPlace));
    expect(r.greedy).toBeGreaterThanOrEqual(Math.max(r.withoutConvAdd, r.withoutConvPool, r.withoutInPlace));
    const noPool = compile(onnx, { target: 'esp32', calibration: calib, memory: { inPlace: true, fuseConvPool: false, fuseConvAdd: true } });
    expect(codes(noPool)).not.toContain(OpCode.CONV_POOL_2D);
    expect(noPool.report.arenaBytes).toBe(r.withoutConvPool);
  });
});

describe('replay checker', () => {
  const t = (bytes: number, offset: number, shape = [bytes]): PlacedTensor => ({ bytes, offset, shape });
  const lut = (i: number, o: number): ModuleOp => ({ code: OpCode.LUT, inputs: [i], outputs: [o], consts: [0], params: [1, 1] });
  const fc = (i: number, o: number): ModuleOp => ({ code: OpCode.FULLY_CONNECTED, inputs: [i], outputs: [o], consts: [0, 1], params: [] });

  it('accepts an element-wise op writing over the input that dies there', () => {
    expect(replayPlan([fc(0, 1), lut(1, 2), fc(2, 3)], [t(32, 0), t(32, 32), t(32, 32), t(16, 0)], 0, 3, 64, 16)).toEqual([]);
  });

  it('rejects an in-place write over an input that is read later', () => {
    const ops = [fc(0, 1), lut(1, 2), { ...fc(1, 3), inputs: [1, 2] }];
    expect(replayPlan(ops, [t(32, 0), t(32, 32), t(32, 32), t(16, 0)], 0, 3, 64, 16)).toEqual(['op 1 writes tensor 2 over live tensor 1']);
  });

  it('rejects a kernel that may not run in place, a partial overlap, and a tensor past the arena', () => {
    expect(replayPlan([fc(0, 1), fc(1, 2)], [t(32, 0), t(32, 32), t(32, 32)], 0, 2, 64, 16)).toEqual(['op 1 writes tensor 2 over live tensor 1']);
    expect(replayPlan([fc(0, 1), lut(1, 2)], [t(32, 0), t(32, 32), t(32, 48)], 0, 2, 80, 16)).toEqual(['op 1 writes tensor 2 over live tensor 1']);
    expect(replayPlan([fc(0, 1)], [t(32, 0), t(32, 16)], 0, 1, 32, 16)).toEqual(['tensor 1 [16, 48) outside the 32-byte arena', 'op 0 writes tensor 1 over live tensor 0']);
  });

  it('rejects CONV_ADD writing over a residual that is also its convolution input', () => {
    const convAdd = (x: number, r: number, o: number): ModuleOp => ({ code: OpCode.CONV_ADD, inputs: [x, r], outputs: [o], consts: [0, 1], params: [] });
    expect(replayPlan([fc(0, 1), convAdd(1, 1, 2)], [t(32, 0), t(32, 32), t(32, 32)], 0, 2, 64, 16)).toEqual(['op 1 writes tensor 2 over live tensor 1']);
    expect(replayPlan([fc(0, 1), fc(0, 2), convAdd(2, 1, 3)], [t(32, 0), t(32, 32), t(32, 64), t(32, 32)], 0, 3, 96, 16)).toEqual([]);
  });

  it('never lets an op overwrite the graph input', () => {
    expect(replayPlan([lut(0, 1)], [t(32, 0), t(32, 0)], 0, 1, 32, 16)).toEqual(['op 0 writes tensor 1 over live tensor 0']);
  });
});
