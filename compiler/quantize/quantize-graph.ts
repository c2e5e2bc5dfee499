// Post-training int8 quantization of a (passed) graph: every node lowered to module ops over int8
// arena tensors, with calibrated activation ranges. The result still lacks arena offsets; the
// planner adds them.
import { CompileError } from '../ir/compile-error.ts';
import type { Graph } from '../ir/graph.ts';
import type { Range } from './calibrate.ts';
import { createLowerContext } from './lower-context.ts';
import { LOWERINGS } from './ops/index.ts';
import { assertInt8Lowerable } from './int8-support.ts';
import { OpCode } from '../module/opcodes.ts';
import { quantizeMultiplier } from './quantize-multiplier.ts';
import type { QuantizedProgram } from './quantized-program.ts';

export function quantizeGraph(graph: Graph, ranges: ReadonlyMap<string, Range>): QuantizedProgram {
  if (graph.inputs.length !== 1 || graph.outputs.length !== 1) {
    throw new CompileError('UNSUPPORTED_OP', `a module has one input and one output; graph has ${graph.inputs.length} and ${graph.outputs.length}`);
  }
  assertInt8Lowerable(graph);
  const { ctx, state } = createLowerContext(graph, ranges);
  const input = graph.inputs[0];
  if (input.dtype !== 'float32') throw new CompileError('UNSUPPORTED_DTYPE', `graph input '${input.name}' is ${input.dtype}, expected float32`);
  const inNode = { name: input.name, op: 'Input', inputs: [], outputs: [input.name], attrs: {} };
  ctx.define(input.name, inNode);
  for (const node of graph.nodes) {
    const lower = LOWERINGS[node.op];
    if (!lower) throw new CompileError('UNSUPPORTED_OP', `operator '${node.op}' (node '${node.name}') has no int8 lowering`);
    lower(node, ctx);
  }
  const outName = graph.outputs[0].name;
  let output = state.tensorOf.get(outName);
  if (output === undefined) throw new CompileError('BAD_MODEL', `graph output '${outName}' is not computed by any node`);
  const outShape = ctx.shapeOf(outName);
  const aliased = state.tensors[output];
  if (output === 0 || aliased.shape.length !== outShape.length || aliased.shape.some((d, i) => d !== outShape[i])) {
    // The output is a Reshape/Flatten alias (or the input itself): give it its own tensor with the
    // ONNX output shape, filled by an exact copy (CLAMP with multiplier 1 and the full int8 range).
    const copyNode = { name: `${outName}/copy`, op: 'Copy', inputs: [outName], outputs: [outName], attrs: {} };
    const src = output;
    state.tensors.push({ ...aliased, name: `${outName}/copy`, shape: [...outShape] });
    output = state.tensors.length - 1;
    const one = quantizeMultiplier(1);
    ctx.emit({ code: OpCode.CLAMP, inputs: [src], outputs: [output], consts: [], params: [aliased.zeroPoint, aliased.zeroPoint, one.multiplier, one.shift, -128, 127] }, copyNode, 0);
  }
  return {
    tensors: state.tensors,
    constants: state.constants,
    ops: state.ops,
    opSources: state.opSources,
    opMacs: state.opMacs,
    input: 0,
    output,
    macs: state.opMacs.reduce((a, b) => a + b, 0),
  };
}
