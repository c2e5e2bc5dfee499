import { describe, expect, it } from 'vitest';
import { compile, formatReport } from '../../compiler/compile.ts';
import { isCompileError } from '../../compiler/ir/compile-error.ts';
import { TARGET_IDS } from '../../compiler/targets/index.ts';
import { compileSmall, everyKernelModel, randomInputs } from './helpers/back-end.ts';
import { attr, buildModel, int64Tensor, randomTensor, rng } from './helpers/onnx-builder.ts';

describe('compile()', () => {
  it('reports flash, RAM, MACs, both arena plans and the fit on every target', () => {
    const r = compileSmall(everyKernelModel());
    const rep = r.report;
    expect(rep.moduleBytes).toBe(r.module.length);
    expect(rep.arenaBytes).toBe(r.contents.arenaBytes);
    expect(rep.arenaBytesGreedy).toBeLessThanOrEqual(rep.arenaBytesNaive);
    expect(rep.macs).toBe(rep.ops.reduce((s, o) => s + o.macs, 0));
    expect(rep.ops.map((o) => o.op)).toContain('DEPTHWISE_CONV_2D');
    expect(rep.fitByTarget.map((f) => f.target)).toEqual([...TARGET_IDS]);
    expect(rep.digest).toMatch(/^[0-9a-f]{64}$/);
    expect(formatReport(rep)).toContain(`arena ${rep.arenaBytes} B`);
    expect(r.cHeader).toContain(`model_len = ${r.module.length}`);
  });

  it('throws TOO_LARGE with the bytes over when the arena does not fit, or reports it with requireFit: false', () => {
    const rand = rng(11);
    const onnx = buildModel({
      nodes: [{ op: 'Conv', inputs: ['x', 'w', 'b'], outputs: ['y'], attrs: { pads: attr.ints([1, 1, 1, 1]) } }],
      inputs: [{ name: 'x', shape: [1, 1, 64, 64] }],
      outputs: [{ name: 'y', shape: [1, 96, 64, 64] }],
      initializers: [randomTensor('w', [96, 1, 3, 3], rand), randomTensor('b', [96], rand)],
    });
    const calibration = randomInputs(2, 64 * 64, 3);
    let err: unknown;
    try {
      compile(onnx, { target: 'nrf52840', calibration });
    } catch (e) {
      err = e;
    }
    expect(isCompileError(err) && err.code).toBe('TOO_LARGE');
    expect(String((err as Error).message)).toMatch(/does not fit nrf52840: RAM over by \d+ bytes/);
    const r = compile(onnx, { target: 'nrf52840', calibration, requireFit: false });
    expect(r.report.fit.fits).toBe(false);
    expect(r.report.fit.ramOverBy).toBe(r.report.arenaBytes + 98304 - 262144);
    expect(r.report.fitByTarget.find((f) => f.target === 'esp32-s3')?.fits).toBe(false);
    expect(compile(onnx, { target: 'esp32-s3', calibration, allowPsram: true }).report.fit.fits).toBe(true);
  }, 60_000);

  it('refuses before calibration, listing every node the int8 path cannot lower and the int8 op set', () => {
    const onnx = buildModel({
      nodes: [
        { op: 'Gather', inputs: ['x', 'i'], outputs: ['g'], name: 'pick', attrs: { axis: attr.i(1) } }, // gathering activations: no int8 lowering
        { op: 'Relu', inputs: ['g'], outputs: ['r'] },
        { op: 'Div', inputs: ['r', 'g'], outputs: ['y'], name: 'ratio' }, // division by an activation
      ],
      inputs: [{ name: 'x', shape: [1, 4] }],
      outputs: [{ name: 'y', shape: [1, 2] }],
      initializers: [int64Tensor('i', [0, 2])],
      opset: 13,
    });
    let sawSample = false;
    const calibration = [new Float32Array(4)];
    const probe = new Proxy(calibration, { get: (t, k, r) => { if (k === Symbol.iterator) sawSample = true; return Reflect.get(t, k, r); } });
    let err: unknown;
    try {
      compile(onnx, { target: 'esp32', calibration: probe });
    } catch (e) {
      err = e;
    }
    expect(isCompileError(err) && err.code).toBe('UNSUPPORTED_OP');
    const msg = (err as Error).message;
    expect(msg).toMatch(/^2 node\(s\) cannot be compiled to int8/);
    expect(msg).toContain("Gather node 'pick': no int8 lowering");
    expect(msg).toContain("Div node 'ratio': only division of an activation by a constant");
    expect(msg).toContain('The int8 operator set: Abs, Add');
    expect(sawSample).toBe(false); // calibration never started
  });

  it('a model whose output is a Flatten keeps the ONNX output shape (exact copy out of the alias)', () => {
    const rand = rng(5);
    const onnx = buildModel({
      nodes: [
        { op: 'Conv', inputs: ['x', 'w', 'b'], outputs: ['c'] },
        { op: 'GlobalAveragePool', inputs: ['c'], outputs: ['g'] },
        { op: 'Flatten', inputs: ['g'], outputs: ['y'] },
      ],
      inputs: [{ name: 'x', shape: [1, 2, 5, 5] }],
      outputs: [{ name: 'y', shape: [1, 3] }],
      initializers: [randomTensor('w', [3, 2, 3, 3], rand), randomTensor('b', [3], rand)],
    });
    const r = compile(onnx, { target: 'esp32', calibration: randomInputs(4, 50, 2) });
    expect(r.contents.tensors[r.contents.output].shape).toEqual([1, 3]);
    expect(r.report.ops.map((o) => o.op)).toEqual(['CONV_2D', 'GLOBAL_AVERAGE_POOL', 'CLAMP']);
  });
});
