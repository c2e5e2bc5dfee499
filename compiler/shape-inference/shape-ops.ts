// Shape computations on static shapes: Shape, Gather, Squeeze, Unsqueeze. An ordinary PyTorch export
// of `x.view(x.size(0), -1)` produces Shape -> Gather -> Unsqueeze -> Concat -> Reshape; with
// static shapes every one of them is known at compile time and folds to a constant (issue 11 §1).
import { attrInt, attrInts } from '../ir/attrs.ts';
import { CompileError } from '../ir/compile-error.ts';
import type { ConstTensor, Node, Shape } from '../ir/graph.ts';
import { intValues, normAxis } from '../ir/tensor.ts';

const desc = (n: Node): string => `${n.op} node '${n.name}'`;

/** Shape-15: dims [start, end) of the input shape (negative = from the end, clamped). */
export function shapeSlice(node: Node, shape: Shape): number[] {
  const r = shape.length;
  const clampAxis = (a: number): number => Math.max(0, Math.min(r, a < 0 ? a + r : a));
  return shape.slice(clampAxis(attrInt(node, 'start', 0)), clampAxis(attrInt(node, 'end', r)));
}

/** Squeeze/Unsqueeze axes: the attribute before opset 13, the (constant) second input since. */
export function axesOf(node: Node, opset: number, constant: (name: string) => ConstTensor | undefined): number[] | undefined {
  if (opset < 13) return attrInts(node, 'axes') ? [...(attrInts(node, 'axes') as number[])] : undefined;
  const name = node.inputs[1];
  if (!name) return undefined;
  const c = constant(name);
  if (!c) throw new CompileError('UNSUPPORTED_OP', `${desc(node)}: axes must be a constant`);
  return intValues(c.data, desc(node));
}

export function squeezeShape(node: Node, shape: Shape, axes: readonly number[] | undefined): number[] {
  if (!axes) return shape.filter((d) => d !== 1);
  const norm = new Set(axes.map((a) => normAxis(a, shape.length, desc(node))));
  for (const a of norm) if (shape[a] !== 1) throw new CompileError('SHAPE_MISMATCH', `${desc(node)}: axis ${a} has size ${shape[a]}, not 1`);
  return shape.filter((_, i) => !norm.has(i));
}

export function unsqueezeShape(node: Node, shape: Shape, axes: readonly number[] | undefined): number[] {
  if (!axes) throw new CompileError('BAD_MODEL', `${desc(node)}: axes are required`);
  const rank = shape.length + axes.length;
  const norm = axes.map((a) => normAxis(a, rank, desc(node)));
  if (new Set(norm).size !== norm.length) throw new CompileError('BAD_MODEL', `${desc(node)}: repeated axis in [${axes.join(',')}]`);
  const out: number[] = [];
  let k = 0;
  for (let i = 0; i < rank; i++) out.push(norm.includes(i) ? 1 : shape[k++]);
  return out;
}

/** numpy.take(data, indices, axis) output shape. */
export function gatherShape(node: Node, data: Shape, indices: Shape): number[] {
  const axis = normAxis(attrInt(node, 'axis', 0), data.length, desc(node));
  return [...data.slice(0, axis), ...indices, ...data.slice(axis + 1)];
}

/** Pad-11+: constant `pads` input [begin_0.., end_0..], constant mode only, non-negative. */
export function padAmounts(node: Node, rank: number, constant: (name: string) => ConstTensor | undefined): number[] {
  const mode = node.attrs['mode'] ?? 'constant';
  if (mode !== 'constant') throw new CompileError('UNSUPPORTED_OP', `${desc(node)}: mode '${String(mode)}' (constant only)`);
  const c = node.inputs[1] ? constant(node.inputs[1]) : undefined;
  if (!c) throw new CompileError('UNSUPPORTED_OP', `${desc(node)}: pads must be a constant`);
  const pads = intValues(c.data, desc(node));
  if (pads.length !== 2 * rank) throw new CompileError('BAD_MODEL', `${desc(node)}: ${pads.length} pads for rank ${rank}`);
  if (pads.some((p) => p < 0)) throw new CompileError('UNSUPPORTED_OP', `${desc(node)}: negative pads (cropping)`);
  if (node.inputs[2]) {
    const v = constant(node.inputs[2]);
    if (!v || !(v.data instanceof Float32Array) || v.data.length !== 1) throw new CompileError('UNSUPPORTED_OP', `${desc(node)}: constant_value must be a constant float scalar`);
  }
  return pads;
}
