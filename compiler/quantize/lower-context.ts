// What an op lowering sees: the graph, calibrated ranges, and builders for arena tensors, constants
// and module ops. One lowering per ONNX op lives in ops/ (TFLM layout: one file per operator).
import { CompileError } from '../ir/compile-error.ts';
import type { ConstTensor, Graph, Node } from '../ir/graph.ts';
import type { ConstantTensor, ModuleOp } from '../module/module-types.ts';
import type { Range } from './calibrate.ts';
import { activationQuant, type TensorQuant } from './quant-params.ts';
import { quantizeMultiplier } from './quantize-multiplier.ts';
import { OpCode } from '../module/opcodes.ts';
import type { ProgramTensor } from './quantized-program.ts';

export type LowerContext = {
  readonly graph: Graph;
  /** arena tensor holding an already-defined value */
  readonly use: (value: string, node: Node) => number;
  /** new arena tensor for a node output; quantization from calibration unless given */
  readonly define: (value: string, node: Node, quant?: TensorQuant) => number;
  /**
   * Like use(), for ops whose kernel reads the operand's dims (conv, pools): when `value` is a
   * Reshape alias whose arena tensor has another shape, an exact copy (CLAMP, multiplier 1) into a
   * tensor of the value's own shape is emitted first.
   */
  readonly useShaped: (value: string, node: Node) => number;
  /** a new arena tensor no graph value names (an op's intermediate, e.g. a transposed copy) */
  readonly defineInternal: (name: string, shape: readonly number[], quant: TensorQuant) => number;
  /** makes `alias` name the same arena tensor as `value` (Reshape/Flatten/Identity/Dropout) */
  readonly alias: (alias: string, value: string, node: Node) => void;
  readonly quantOf: (tensor: number) => TensorQuant;
  readonly shapeOf: (value: string) => readonly number[];
  readonly range: (value: string) => Range;
  /** a float initializer, or undefined when the input is not constant */
  readonly initializer: (value: string) => ConstTensor | undefined;
  readonly addConst: (c: ConstantTensor) => number;
  readonly emit: (op: ModuleOp, node: Node, macs: number) => void;
};

export function floatData(t: ConstTensor, node: Node): Float32Array {
  if (!(t.data instanceof Float32Array)) {
    throw new CompileError('UNSUPPORTED_DTYPE', `${node.op} node '${node.name}': constant '${t.name}' is ${t.dtype}, expected float32`);
  }
  return t.data;
}

/** Per-channel requantization: multiplier_c = in_scale * w_scale_c / out_scale as (int32, int8 shift). */
export function perChannelRequant(inScale: number, wScales: Float64Array, outScale: number): { mult: Int32Array; shift: Int8Array } {
  const mult = new Int32Array(wScales.length);
  const shift = new Int8Array(wScales.length);
  wScales.forEach((ws, c) => {
    const q = quantizeMultiplier((inScale * ws) / outScale);
    mult[c] = q.multiplier;
    shift[c] = q.shift;
  });
  return { mult, shift };
}

export type LowerState = {
  readonly tensors: ProgramTensor[];
  readonly constants: ConstantTensor[];
  readonly ops: ModuleOp[];
  readonly opSources: string[];
  readonly opMacs: number[];
  readonly tensorOf: Map<string, number>;
};

export function createLowerContext(graph: Graph, ranges: ReadonlyMap<string, Range>): { ctx: LowerContext; state: LowerState } {
  const state: LowerState = { tensors: [], constants: [], ops: [], opSources: [], opMacs: [], tensorOf: new Map() };
  const shapeOf = (value: string): readonly number[] => {
    const v = graph.values.get(value);
    if (!v) throw new CompileError('BAD_MODEL', `value '${value}' has no inferred shape`);
    return v.shape;
  };
  const range = (value: string): Range => {
    const r = ranges.get(value);
    if (!r) throw new CompileError('BAD_MODEL', `value '${value}' was not seen during calibration`);
    return r;
  };
  const ctx: LowerContext = {
    graph,
    use(value, node) {
      const t = state.tensorOf.get(value);
      if (t === undefined) {
        if (graph.initializers.has(value)) {
          throw new CompileError('UNSUPPORTED_OP', `${node.op} node '${node.name}': constant operand '${value}' is not supported in this position`);
        }
        throw new CompileError('BAD_MODEL', `${node.op} node '${node.name}': input '${value}' is not defined before use`);
      }
      return t;
    },
    define(value, node, quant) {
      if (state.tensorOf.has(value)) throw new CompileError('BAD_MODEL', `value '${value}' is defined twice (node '${node.name}')`);
      const shape = shapeOf(value);
      const q = quant ?? activationQuant(range(value).min, range(value).max);
      const bytes = shape.reduce((a, b) => a * b, 1);
      state.tensors.push({ name: value, dtype: 'int8', shape: [...shape], scale: q.scale, zeroPoint: q.zeroPoint, bytes });
      state.tensorOf.set(value, state.tensors.length - 1);
      return state.tensors.length - 1;
    },
    useShaped(value, node) {
      const t = ctx.use(value, node);
      const want = shapeOf(value);
      const have = state.tensors[t].shape;
      if (have.length === want.length && have.every((d, i) => d === want[i])) return t;
      const q = ctx.quantOf(t);
      const copy = ctx.defineInternal(`${value}/as-shaped`, want, q);
      const one = quantizeMultiplier(1);
      ctx.emit({ code: OpCode.CLAMP, inputs: [t], outputs: [copy], consts: [], params: [q.zeroPoint, q.zeroPoint, one.multiplier, one.shift, -128, 127] }, node, 0);
      state.tensorOf.set(value, copy); // later readers of the value use the shaped copy too
      return copy;
    },
    defineInternal(name, shape, q) {
      const bytes = shape.reduce((a, b) => a * b, 1);
      state.tensors.push({ name, dtype: 'int8', shape: [...shape], scale: q.scale, zeroPoint: q.zeroPoint, bytes });
      return state.tensors.length - 1;
    },
    alias(alias, value, node) {
      state.tensorOf.set(alias, ctx.use(value, node));
    },
    quantOf: (t) => ({ scale: state.tensors[t].scale, zeroPoint: state.tensors[t].zeroPoint }),
    shapeOf,
    range,
    initializer: (value) => graph.initializers.get(value),
    addConst(c) {
      state.constants.push(c);
      return state.constants.length - 1;
    },
    emit(op, node, macs) {
      state.ops.push(op);
      state.opSources.push(node.name || node.op);
      state.opMacs.push(macs);
    },
  };
  return { ctx, state };
}
