// Reads the 13 CONV_2D scalars and the per-channel requant words that follow them, wherever they
// start in an op's params (at 0 for CONV_2D / DEPTHWISE_CONV_2D, later in the fused ops).
import type { ModuleOp } from '../../module/module-types.ts';
import { CONV_FIXED_PARAMS } from '../../module/opcodes.ts';
import { unpackRequant } from '../../module/requant-params.ts';
import { int32Const, int8Const, type KernelContext } from '../kernel.ts';
import { prepareConvCore, type ConvCore, type ConvGeometry } from './conv-core.ts';

/** the convolution of `op` whose params start at `at`, producing a [co, ho, wo] output */
export function convCoreOf(op: ModuleOp, ctx: KernelContext, at: number, co: number, ho: number, wo: number): { core: ConvCore; geometry: ConvGeometry } {
  const [, ci, hi, wi] = ctx.tensor(op.inputs[0]).shape;
  const [, , kh, kw] = ctx.constant(op.consts[0]).shape;
  const [sh, sw, pt, pl, , , dh, dw, inZp, outZp, actMin, actMax, groups] = op.params.slice(at, at + CONV_FIXED_PARAMS);
  const { mult, shift } = unpackRequant(op.params, at + CONV_FIXED_PARAMS, co);
  const geometry: ConvGeometry = { ci, hi, wi, co, ho, wo, kh, kw, sh, sw, pt, pl, dh, dw, groups };
  const core = prepareConvCore(geometry, { w: int8Const(ctx, op.consts[0]), bias: int32Const(ctx, op.consts[1]), mult, shift, inZp, outZp, actMin, actMax });
  return { core, geometry };
}
