// Resolves the two operands of ADD / MUL per the op's layout param (module-format.md §4):
// 0 = (input0, input1), 1 = (input0, const0), 2 = (const0, input0).
import { int8Const, type KernelContext } from '../kernel.ts';
import type { ModuleOp } from '../../module/module-types.ts';
import { broadcastIndex } from './broadcast.ts';

export type BinaryOperands = { a: Int8Array; b: Int8Array; ia: Int32Array | null; ib: Int32Array | null };

export function binaryOperands(op: ModuleOp, ctx: KernelContext): BinaryOperands {
  const out = ctx.tensor(op.outputs[0]).shape;
  const act = (k: number): [Int8Array, readonly number[]] => [ctx.view(op.inputs[k]), ctx.tensor(op.inputs[k]).shape];
  const cst = (): [Int8Array, readonly number[]] => [int8Const(ctx, op.consts[0]), ctx.constant(op.consts[0]).shape];
  const layout = op.params[0];
  const [[a, sa], [b, sb]] = layout === 0 ? [act(0), act(1)] : layout === 1 ? [act(0), cst()] : [cst(), act(0)];
  const same = (s: readonly number[]): boolean => s.length === out.length && s.every((d, k) => d === out[k]);
  return { a, b, ia: same(sa) ? null : broadcastIndex(sa, out), ib: same(sb) ? null : broadcastIndex(sb, out) };
}
