// Conv + residual-add fusion (issue 11 §4): a CONV_2D / DEPTHWISE_CONV_2D whose output is only one
// operand of a two-activation ADD of the same shape (a ResNet block's second convolution) becomes one
// CONV_ADD, so the convolution's output is never resident; the planner then lets the sum overwrite
// the residual in place when the residual dies there. The fused op goes where the convolution was
// when the residual already exists there, else where the ADD was.
import type { ModuleOp } from '../module/module-types.ts';
import { OpCode } from '../module/opcodes.ts';
import type { QuantizedProgram } from '../quantize/quantized-program.ts';
import { compactTensors, producersOf, readersOf, replaceOps, soleLaterReaderOfConv } from './program-edit.ts';

const sameShape = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((d, k) => d === b[k]);

export function fuseConvAdd(program: QuantizedProgram): QuantizedProgram {
  let p = program;
  for (;;) {
    const readers = readersOf(p);
    const i = p.ops.findIndex((op, k) => {
      const add = soleLaterReaderOfConv(p, readers, op, k);
      if (!add || add.code !== OpCode.ADD || add.params[0] !== 0 || add.inputs[0] === add.inputs[1]) return false;
      const y = p.tensors[add.outputs[0]].shape;
      return add.inputs.every((u) => sameShape(p.tensors[u].shape, y));
    });
    if (i < 0) return compactTensors(p);
    const conv = p.ops[i];
    const t = conv.outputs[0];
    const j = readersOf(p)[t][0];
    const add = p.ops[j];
    const convSide = add.inputs[0] === t ? 0 : 1;
    const residual = add.inputs[1 - convSide];
    const fused: ModuleOp = {
      code: OpCode.CONV_ADD,
      inputs: [conv.inputs[0], residual],
      outputs: add.outputs,
      consts: conv.consts,
      params: [convSide, ...add.params.slice(1), ...conv.params],
    };
    const at = producersOf(p)[residual] < i ? i : j;
    p = replaceOps(p, at, fused, `${p.opSources[i]} + ${p.opSources[j]}`, p.opMacs[i] + p.opMacs[j], [at === i ? j : i]);
  }
}
