// Small helpers the fusion rewrites share: who reads a tensor, and dropping tensors no op touches
// any more (a fused-away intermediate) so the module's tensor table holds only planned tensors.
import type { ModuleOp } from '../module/module-types.ts';
import { OpCode } from '../module/opcodes.ts';
import type { QuantizedProgram } from '../quantize/quantized-program.ts';

/** op indices that read each tensor */
export function readersOf(p: QuantizedProgram): number[][] {
  const readers = p.tensors.map((): number[] => []);
  p.ops.forEach((op, i) => {
    for (const t of op.inputs) if (!readers[t].includes(i)) readers[t].push(i);
  });
  return readers;
}

/** op index that writes each tensor, -1 for the graph input */
export function producersOf(p: QuantizedProgram): number[] {
  const producer = p.tensors.map(() => -1);
  p.ops.forEach((op, i) => {
    for (const t of op.outputs) producer[t] = i;
  });
  return producer;
}

/** drops the tensors no op reads or writes (besides the graph input and output) and renumbers the rest */
export function compactTensors(p: QuantizedProgram): QuantizedProgram {
  const used = new Set<number>([p.input, p.output]);
  for (const op of p.ops) for (const t of [...op.inputs, ...op.outputs]) used.add(t);
  const renumber = new Map<number, number>();
  p.tensors.forEach((_, t) => {
    if (used.has(t)) renumber.set(t, renumber.size);
  });
  const at = (t: number): number => renumber.get(t) as number; // every referenced tensor is in `used`
  const ops: ModuleOp[] = p.ops.map((op) => ({ ...op, inputs: op.inputs.map(at), outputs: op.outputs.map(at) }));
  return { ...p, tensors: p.tensors.filter((_, t) => used.has(t)), ops, input: at(p.input), output: at(p.output) };
}

/** the program with op `index` replaced by `op` and the ops in `remove` dropped (sources and MACs follow) */
export function replaceOps(p: QuantizedProgram, index: number, op: ModuleOp, source: string, macs: number, remove: readonly number[]): QuantizedProgram {
  const keep = (_: unknown, i: number): boolean => !remove.includes(i);
  const ops = p.ops.map((o, i) => (i === index ? op : o));
  const opSources = p.opSources.map((s, i) => (i === index ? source : s));
  const opMacs = p.opMacs.map((m, i) => (i === index ? macs : m));
  return { ...p, ops: ops.filter(keep), opSources: opSources.filter(keep), opMacs: opMacs.filter(keep) };
}

/**
 * The one op reading the output of `op` (at index k), when `op` is a batch-1 CONV_2D or
 * DEPTHWISE_CONV_2D whose output is not the program's output and is read once, later: the
 * convolution a fusion may fold into its reader.
 */
export function soleLaterReaderOfConv(p: QuantizedProgram, readers: readonly number[][], op: ModuleOp, k: number): ModuleOp | undefined {
  if (op.code !== OpCode.CONV_2D && op.code !== OpCode.DEPTHWISE_CONV_2D) return undefined;
  const t = op.outputs[0];
  if (t === p.output || p.tensors[t].shape[0] !== 1 || readers[t].length !== 1 || readers[t][0] < k) return undefined;
  return p.ops[readers[t][0]];
}
