// Fuses a Relu or a constant Clip that directly follows a Conv, Gemm, MatMul, Add, Sub, Mul or Div into the producer,
// as the `activation` attribute (TFLite Micro's fused_activation_function), so the int8 back end
// can clamp in the requantization step instead of running a separate op.
//
// The attribute (defined and read in compiler/ir/fused-activation.ts):
//   activation: 'relu'   from Relu, or Clip(min=0, no max)
//               'relu6'  from Clip(min=0, max=6)
//               'clip'   from any other Clip with both bounds finite constants;
//                        then activation_min / activation_max hold the bounds.
// Only fused when the producer's output is read by the activation alone and is not a graph
// output (the unactivated value must not be observable).
import { hasAttr } from '../ir/attrs.ts';
import type { AttrValue, Graph, Node } from '../ir/graph.ts';
import { consumers, outputNames, producers, rebuild } from './graph-edit.ts';

// Add/Sub/Mul/Div as TFLite does (ADD/SUB/MUL/DIV carry fused_activation_function): no standalone
// clamp after a residual Add
const FUSABLE = new Set(['Conv', 'Gemm', 'MatMul', 'Add', 'Sub', 'Mul', 'Div']);

function clipBounds(g: Graph, n: Node): [number, number] | undefined {
  const bound = (i: number, attr: string, dflt: number): number | undefined => {
    const name = n.inputs[i];
    if (name) {
      const t = g.initializers.get(name);
      return t && t.data instanceof Float32Array && t.data.length === 1 ? t.data[0] : undefined;
    }
    const a = n.attrs[attr];
    return hasAttr(n, attr) ? (typeof a === 'number' ? a : undefined) : dflt;
  };
  const lo = bound(1, 'min', -Infinity);
  const hi = bound(2, 'max', Infinity);
  return lo === undefined || hi === undefined ? undefined : [lo, hi];
}

function activationAttrs(g: Graph, act: Node): Record<string, AttrValue> | undefined {
  if (act.op === 'Relu') return { activation: 'relu' };
  if (act.op !== 'Clip') return undefined;
  const b = clipBounds(g, act);
  if (!b) return undefined;
  const [lo, hi] = b;
  if (lo === 0 && hi === Infinity) return { activation: 'relu' };
  if (lo === 0 && hi === 6) return { activation: 'relu6' };
  if (Number.isFinite(lo) && Number.isFinite(hi) && lo <= hi) return { activation: 'clip', activation_min: lo, activation_max: hi };
  return undefined;
}

export function fuseActivation(g: Graph): Graph {
  const uses = consumers(g.nodes);
  const prod = producers(g.nodes);
  const outputs = outputNames(g);
  const replaced = new Map<Node, Node>();
  const dropped = new Set<Node>();
  for (const act of g.nodes) {
    if (act.op !== 'Relu' && act.op !== 'Clip') continue;
    const x = act.inputs[0];
    const p = prod.get(x);
    if (!p || !FUSABLE.has(p.op) || replaced.has(p) || p.attrs['activation'] !== undefined) continue;
    if ((uses.get(x) ?? []).length !== 1 || outputs.has(x)) continue;
    const attrs = activationAttrs(g, act);
    if (!attrs) continue;
    replaced.set(p, { ...p, attrs: { ...p.attrs, ...attrs }, outputs: [act.outputs[0]] });
    dropped.add(act);
  }
  const nodes = g.nodes.filter((n) => !dropped.has(n)).map((n) => replaced.get(n) ?? n);
  return rebuild(g, nodes);
}
