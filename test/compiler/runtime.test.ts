import { describe, expect, it } from 'vitest';
import { loadModule, moduleErrorCode } from './helpers/runtime-helpers.ts';
import { runFloat } from '../../compiler/reference/executor.ts';
import { getTarget } from '../../compiler/targets/index.ts';
import { OpCode } from '../../compiler/module/opcodes.ts';
import { unpackRequant } from '../../compiler/module/requant-params.ts';
import { multiplyByQuantizedMultiplier } from '../../compiler/runtime/fixed-point.ts';
import type { ModuleContents, ModuleOp } from '../../compiler/module/module-types.ts';
import { compileSmall, everyKernelModel, randomInputs } from './helpers/back-end.ts';
import { compile } from '../../compiler/compile.ts';
import { attr, buildModel, randomTensor, rng } from './helpers/onnx-builder.ts';

const model = everyKernelModel();
const greedy = compileSmall(model, { planner: 'greedy' });
const naive = compileSmall(model, { planner: 'naive' });
const inputs = randomInputs(40, 3 * 12 * 12, 99);

describe('reference runtime', () => {
  it('int8 output tracks the float graph (every kernel on the path)', () => {
    const m = loadModule(greedy.module);
    const g = greedy.graph;
    let worst = 0;
    let agree = 0;
    for (const x of inputs) {
      const want = runFloat(g, { x }).get('y')!;
      const got = m.invoke(x);
      for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got.dequantized[i] - want[i]));
      let fl = 0;
      for (let i = 1; i < want.length; i++) if (want[i] > want[fl]) fl = i;
      if (fl === got.label) agree++;
      expect(got.confidence).toBeCloseTo(got.dequantized[got.label], 6);
    }
    // probabilities quantized at 1/256, plus error accumulated over 9 quantized layers
    expect(worst).toBeLessThan(0.06);
    expect(agree).toBeGreaterThanOrEqual(36);
  });

  it('greedy and naive plans give bit-identical outputs, and greedy is smaller', () => {
    expect(greedy.contents.arenaBytes).toBeLessThan(naive.contents.arenaBytes);
    const a = loadModule(greedy.module);
    const b = loadModule(naive.module);
    for (const x of inputs) expect(a.invoke(x).output).toEqual(b.invoke(x).output);
  });

  it('never reads or writes outside its arena (guard bands stay intact and unread)', () => {
    const arenaBytes = greedy.contents.arenaBytes;
    const guard = 256;
    const outputs: Int8Array[][] = [];
    for (const fill of [0x00, 0xa5, 0x7f]) {
      const buf = new Uint8Array(guard + arenaBytes + guard).fill(fill);
      const m = loadModule(greedy.module, undefined, { arena: buf.subarray(guard) });
      expect(m.arena.byteOffset).toBe(guard);
      expect(m.arena.length).toBe(arenaBytes);
      outputs.push(inputs.slice(0, 8).map((x) => {
        const r = m.invoke(x).output;
        // written only inside [guard, guard + arenaBytes)
        expect(buf.subarray(0, guard).every((v) => v === fill)).toBe(true);
        expect(buf.subarray(guard + arenaBytes).every((v) => v === fill)).toBe(true);
        return r;
      }));
    }
    // if a kernel read a guard byte, the output would depend on the fill pattern
    expect(outputs[1]).toEqual(outputs[0]);
    expect(outputs[2]).toEqual(outputs[0]);
  });

  it('the arena is one buffer of exactly the planned size', () => {
    const m = loadModule(greedy.module);
    expect(m.arena.byteLength).toBe(greedy.contents.arenaBytes);
    expect(m.arena.buffer.byteLength).toBe(greedy.contents.arenaBytes);
  });

  it('accepts int8 input directly and rejects a wrong input length', () => {
    const m = loadModule(greedy.module);
    const q = m.quantizeInput(inputs[0]);
    expect(m.invoke(q).output).toEqual(m.invoke(inputs[0]).output);
    expect(moduleErrorCode(() => m.invoke(new Int8Array(3)))).toBe('BAD_INPUT');
  });

  it('checks the device profile: footprint and target code', () => {
    const esp32 = getTarget('esp32');
    expect(() => loadModule(greedy.module, esp32)).not.toThrow();
    const tiny = { ...esp32, ramBytes: esp32.runtimeOverhead.ramBytes + 100 };
    expect(moduleErrorCode(() => loadModule(greedy.module, tiny))).toBe('DOES_NOT_FIT');
    expect(() => loadModule(greedy.module, tiny)).toThrow(/RAM over by \d+ bytes/);
    expect(moduleErrorCode(() => loadModule(greedy.module, getTarget('gap8')))).toBe('WRONG_TARGET');
    expect(() => loadModule(greedy.module, getTarget('gap8'), { anyTarget: true })).not.toThrow();
    expect(moduleErrorCode(() => loadModule(greedy.module, undefined, { arena: new Uint8Array(8) }))).toBe('DOES_NOT_FIT');
  });
});

/** The obvious int8 convolution (TFLM reference_integer_ops::ConvPerChannel), for the fast paths. */
function referenceConv(m: ModuleContents, op: ModuleOp, x: Int8Array): Int8Array {
  const [, ci, hi, wi] = m.tensors[op.inputs[0]].shape;
  const [, co, ho, wo] = m.tensors[op.outputs[0]].shape;
  const w = m.constants[op.consts[0]];
  const [, wci, kh, kw] = w.shape;
  const bias = m.constants[op.consts[1]].data;
  const { mult, shift } = unpackRequant(op.params, 13, co);
  const [sh, sw, pt, pl, , , dh, dw, inZp, outZp, lo, hi2, groups] = op.params;
  const y = new Int8Array(co * ho * wo);
  for (let oc = 0; oc < co; oc++) {
    for (let oy = 0; oy < ho; oy++) {
      for (let ox = 0; ox < wo; ox++) {
        let acc = bias[oc];
        for (let k = 0; k < wci; k++) {
          // grouped: output channel oc reads the wci input channels of its group
          const ic = op.code === OpCode.DEPTHWISE_CONV_2D ? Math.floor(oc / (co / ci)) : Math.floor(oc / (co / groups)) * wci + k;
          for (let ky = 0; ky < kh; ky++) {
            for (let kx = 0; kx < kw; kx++) {
              const iy = oy * sh - pt + ky * dh;
              const ix = ox * sw - pl + kx * dw;
              const xv = iy < 0 || iy >= hi || ix < 0 || ix >= wi ? inZp : x[(ic * hi + iy) * wi + ix];
              acc += (xv - inZp) * w.data[((oc * wci + k) * kh + ky) * kw + kx];
            }
          }
        }
        y[(oc * ho + oy) * wo + ox] = Math.min(hi2, Math.max(lo, multiplyByQuantizedMultiplier(acc, mult[oc], shift[oc]) + outZp));
      }
    }
  }
  return y;
}

describe('conv kernels against the obvious implementation', () => {
  it('grouped CONV_2D (group 2 and 4, 3x3 and 1x1) is bit-exact', () => {
    const rand = rng(21);
    const onnx = buildModel({
      inputs: [{ name: 'x', shape: [1, 8, 7, 7] }],
      outputs: [{ name: 'y' }],
      initializers: [randomTensor('w1', [12, 4, 3, 3], rand, 0.4), randomTensor('b1', [12], rand, 0.1), randomTensor('w2', [8, 3, 1, 1], rand, 0.4)],
      nodes: [
        { op: 'Conv', inputs: ['x', 'w1', 'b1'], outputs: ['c1'], attrs: { group: attr.i(2), pads: attr.ints([1, 1, 1, 1]) } },
        { op: 'Conv', inputs: ['c1', 'w2'], outputs: ['y'], attrs: { group: attr.i(4) } },
      ],
    });
    const calib = randomInputs(6, 8 * 49, 4, -1, 1);
    const r = compile(onnx, { target: 'esp32', calibration: calib, planner: 'naive' });
    const m = loadModule(r.module);
    const convs = r.contents.ops.filter((o) => o.code === OpCode.CONV_2D);
    expect(convs.map((o) => o.params[12])).toEqual([2, 4]);
    for (const x of calib) {
      m.invoke(x);
      for (const op of convs) {
        const t = r.contents.tensors[op.inputs[0]];
        const o = r.contents.tensors[op.outputs[0]];
        const xin = new Int8Array(m.arena.buffer, m.arena.byteOffset + t.offset, t.bytes);
        const yout = new Int8Array(m.arena.buffer, m.arena.byteOffset + o.offset, o.bytes);
        expect(yout).toEqual(referenceConv(r.contents, op, xin));
      }
    }
  });

  it('CONV_2D (3x3 padded, 1x1 fast path) and DEPTHWISE_CONV_2D are bit-exact', () => {
    // a naive plan never overwrites a tensor, so after invoke every conv's input and output are
    // still in the arena and can be checked against the reference
    const n = loadModule(naive.module);
    const cn = naive.contents;
    const convs = cn.ops.filter((o) => o.code === OpCode.CONV_2D || o.code === OpCode.DEPTHWISE_CONV_2D);
    expect(convs.map((o) => o.code)).toEqual([OpCode.CONV_2D, OpCode.DEPTHWISE_CONV_2D, OpCode.CONV_2D]);
    for (const x of inputs.slice(0, 5)) {
      n.invoke(x);
      for (const op of convs) {
        const t = cn.tensors[op.inputs[0]];
        const o = cn.tensors[op.outputs[0]];
        const xin = new Int8Array(n.arena.buffer, n.arena.byteOffset + t.offset, t.bytes);
        const yout = new Int8Array(n.arena.buffer, n.arena.byteOffset + o.offset, o.bytes);
        expect(yout).toEqual(referenceConv(cn, op, xin));
      }
    }
  });
});
