// Graph-level shape inference: walks the (topologically ordered) nodes, applies each operator's
// rule from op-shapes.ts and records every value's dtype and shape in `graph.values`. The importer
// runs it once; every pass runs it again after rewriting, so `values` never goes stale.
import { CompileError } from '../ir/compile-error.ts';
import type { ConstTensor, Graph, ValueInfo } from '../ir/graph.ts';
import { KERNELS } from '../reference/kernels.ts';
import { checkShape, sameShape } from '../ir/tensor.ts';
import { OP_SHAPES, SUPPORTED_OPS } from './op-shapes.ts';
import { checkSignature } from './op-signatures.ts';

export function unsupportedOpError(op: string, nodeName: string): CompileError {
  return new CompileError('UNSUPPORTED_OP', `operator '${op}' (node '${nodeName}') is not supported; supported operators: ${SUPPORTED_OPS.join(', ')}`, {
    op,
    node: nodeName,
  });
}

/**
 * Returns a copy of `g` whose `values` holds every graph input, initializer and node output.
 * Quantization annotations already present on a value are kept.
 */
export function inferShapes(g: Graph): Graph {
  const values = new Map<string, ValueInfo>();
  for (const [name, t] of g.initializers) values.set(name, { name, dtype: t.dtype, shape: t.shape });
  for (const v of g.inputs) {
    checkShape(v.shape, `graph input '${v.name}'`);
    values.set(v.name, { name: v.name, dtype: v.dtype, shape: v.shape });
  }
  // Values known at compile time although no initializer holds them: Shape of a static shape and
  // integer computations on such values (Gather, Unsqueeze, Concat, ...), evaluated with the float
  // reference kernels, so a Reshape target computed from x.size(0) is a constant here.
  const folded = new Map<string, ConstTensor>();
  const constant = (name: string): ConstTensor | undefined => g.initializers.get(name) ?? folded.get(name);
  const ctx = { opset: g.opset, constant };
  for (const node of g.nodes) {
    const rule = OP_SHAPES[node.op];
    if (!rule) throw unsupportedOpError(node.op, node.name);
    checkSignature(node, g.opset);
    const ins = node.inputs.map((name) => {
      if (name === '') return undefined;
      const v = values.get(name);
      if (!v) throw new CompileError('BAD_MODEL', `${node.op} node '${node.name}': input '${name}' is not produced by any earlier node, input or initializer`);
      return v;
    });
    const outs = rule(node, ins, ctx);
    const constIns = node.inputs.map((name) => (name === '' ? undefined : constant(name)));
    const allConst = node.inputs.every((name, i) => name === '' || constIns[i] !== undefined);
    if (node.op === 'Shape' || (allConst && node.inputs.length > 0 && outs.every((o) => o.dtype === 'int64'))) {
      const kernel = KERNELS[node.op];
      const ins2 = node.op === 'Shape' ? [{ dtype: ins[0]?.dtype ?? 'float32', shape: ins[0]?.shape ?? [], data: new Float32Array(0) }] : constIns;
      const res = kernel?.(node, ins2, g.opset);
      res?.forEach((t, i) => { if (node.outputs[i]) folded.set(node.outputs[i], { name: node.outputs[i], ...t }); });
    }
    if (node.outputs.length === 0 || node.outputs[0] === '') throw new CompileError('BAD_MODEL', `${node.op} node '${node.name}' has no output`);
    outs.forEach((o, i) => {
      const name = node.outputs[i];
      if (!name) return;
      if (values.has(name)) throw new CompileError('BAD_MODEL', `value '${name}' is defined twice (node '${node.name}')`);
      checkShape(o.shape, `output '${name}' of ${node.op} node '${node.name}'`);
      const prev = g.values.get(name);
      values.set(name, prev?.quant ? { name, dtype: o.dtype, shape: o.shape, quant: prev.quant } : { name, dtype: o.dtype, shape: o.shape });
    });
  }
  const outputs = g.outputs.map((o) => {
    const v = values.get(o.name);
    if (!v) throw new CompileError('BAD_MODEL', `graph output '${o.name}' is not produced by any node, input or initializer`);
    if (o.shape.length > 0 && !sameShape(o.shape, v.shape)) {
      throw new CompileError('SHAPE_MISMATCH', `graph output '${o.name}' is declared [${o.shape.join(',')}] but infers to [${v.shape.join(',')}]`);
    }
    return { name: o.name, dtype: v.dtype, shape: v.shape };
  });
  const inputs = g.inputs.map((i) => values.get(i.name) ?? i);
  return { ...g, inputs, outputs, values };
}
