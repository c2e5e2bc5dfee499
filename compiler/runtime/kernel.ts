// The contract between the interpreter and the per-op kernels (TFLM's TfLiteRegistration, reduced
// to prepare + eval). prepare() runs once at load: it resolves operands into typed-array views of
// the arena at their planned offsets and reads the op's params; the closure it returns is eval().
import type { ArenaTensor, ConstantTensor, ModuleOp } from '../module/module-types.ts';
import type { OpCode } from '../module/opcodes.ts';

export type KernelContext = {
  /** int8 view of arena tensor i: exactly its planned bytes, at its planned offset */
  readonly view: (tensor: number) => Int8Array;
  readonly tensor: (tensor: number) => ArenaTensor;
  readonly constant: (index: number) => ConstantTensor;
};

export type Eval = () => void;

export type Kernel = {
  readonly code: OpCode;
  readonly prepare: (op: ModuleOp, ctx: KernelContext) => Eval;
};

export function int8Const(ctx: KernelContext, index: number): Int8Array {
  const c = ctx.constant(index);
  if (!(c.data instanceof Int8Array)) throw new TypeError(`constant ${index} is not int8`);
  return c.data;
}

export function int32Const(ctx: KernelContext, index: number): Int32Array {
  const c = ctx.constant(index);
  if (!(c.data instanceof Int32Array)) throw new TypeError(`constant ${index} is not int32`);
  return c.data;
}

/**
 * Runs a per-sample kernel body once per batch item over views of the op's first input and output
 * (NCHW: each sample is a contiguous block). The views are made once, at prepare time.
 */
export function perBatch(ctx: KernelContext, op: ModuleOp, batch: number, body: (x: Int8Array, y: Int8Array) => void): Eval {
  const x = ctx.view(op.inputs[0]);
  const y = ctx.view(op.outputs[0]);
  if (batch <= 1) return () => body(x, y);
  const xn = x.length / batch;
  const yn = y.length / batch;
  const xs = Array.from({ length: batch }, (_, b) => x.subarray(b * xn, (b + 1) * xn));
  const ys = Array.from({ length: batch }, (_, b) => y.subarray(b * yn, (b + 1) * yn));
  return () => {
    for (let b = 0; b < batch; b++) body(xs[b], ys[b]);
  };
}
