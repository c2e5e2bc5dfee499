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
