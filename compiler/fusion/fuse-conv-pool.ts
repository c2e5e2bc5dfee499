// Conv + pool fusion (issue 11 §4): a CONV_2D / DEPTHWISE_CONV_2D whose output only a MAX_POOL_2D or
// AVERAGE_POOL_2D reads becomes one CONV_POOL_2D, so the convolution's full output — usually the
// largest tensor of a conv→pool stage — is never resident. The fused op takes the convolution's place
// in the schedule (its input is live there; the pool output is written by nothing else).
import type { ModuleOp } from '../module/module-types.ts';
import { OpCode } from '../module/opcodes.ts';
import type { QuantizedProgram } from '../quantize/quantized-program.ts';
import { compactTensors, readersOf, replaceOps, soleLaterReaderOfConv } from './program-edit.ts';

export function fuseConvPool(program: QuantizedProgram): QuantizedProgram {
  let p = program;
  for (;;) {
    const readers = readersOf(p);
    const i = p.ops.findIndex((op, k) => {
      const pool = soleLaterReaderOfConv(p, readers, op, k);
      return pool !== undefined && (pool.code === OpCode.MAX_POOL_2D || pool.code === OpCode.AVERAGE_POOL_2D) && pool.inputs[0] === op.outputs[0];
    });
    if (i < 0) return compactTensors(p);
    const conv = p.ops[i];
    const j = readersOf(p)[conv.outputs[0]][0];
    const pool = p.ops[j];
    const [, , hc, wc] = p.tensors[conv.outputs[0]].shape;
    const fused: ModuleOp = {
      code: OpCode.CONV_POOL_2D,
      inputs: conv.inputs,
      outputs: pool.outputs,
      consts: conv.consts,
      params: [pool.code === OpCode.AVERAGE_POOL_2D ? 1 : 0, hc, wc, ...pool.params, ...conv.params],
    };
    p = replaceOps(p, i, fused, `${p.opSources[i]} + ${p.opSources[j]}`, p.opMacs[i] + p.opMacs[j], [j]);
  }
}
