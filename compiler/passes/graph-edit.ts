// Small, pure helpers the passes share: use counts, value renaming, node bypassing, fresh names.
// Passes never mutate their input graph: they build new node lists and initializer maps and
// finish with `rebuild`, which re-runs shape inference so `values` matches the new graph.
import type { ConstTensor, Graph, Node } from '../ir/graph.ts';
import { inferShapes } from '../shape-inference/infer-shapes.ts';

export function rebuild(g: Graph, nodes: Node[], initializers: Map<string, ConstTensor> = g.initializers): Graph {
  return inferShapes({ ...g, nodes, initializers: new Map(initializers), values: g.values });
}

/** value name -> nodes reading it (a node reading a value twice is listed twice) */
export function consumers(nodes: readonly Node[]): Map<string, Node[]> {
  const m = new Map<string, Node[]>();
  for (const n of nodes) {
    for (const i of n.inputs) {
      if (!i) continue;
      const list = m.get(i);
      if (list) list.push(n);
      else m.set(i, [n]);
    }
  }
  return m;
}

export function producers(nodes: readonly Node[]): Map<string, Node> {
  const m = new Map<string, Node>();
  for (const n of nodes) for (const o of n.outputs) if (o) m.set(o, n);
  return m;
}

export function isGraphOutput(g: Graph, name: string): boolean {
  return g.outputs.some((o) => o.name === name);
}

export function isGraphInput(g: Graph, name: string): boolean {
  return g.inputs.some((i) => i.name === name);
}

/** Renames value `from` to `to` in every node's inputs and outputs. */
export function renameValue(nodes: readonly Node[], from: string, to: string): Node[] {
  return nodes.map((n) =>
    n.inputs.includes(from) || n.outputs.includes(from)
      ? { ...n, inputs: n.inputs.map((v) => (v === from ? to : v)), outputs: n.outputs.map((v) => (v === from ? to : v)) }
      : n,
  );
}

/**
 * Removes a node that passes `x` through to `y` unchanged (Identity, inference Dropout, a no-op
 * Reshape). Readers of `y` read `x` instead; when `y` is a graph output (whose name is part of the
 * model's interface) the producer of `x` is made to write `y` directly. Returns undefined when
 * neither is possible (e.g. a graph input passed straight to a graph output).
 */
export function bypass(g: Graph, nodes: readonly Node[], node: Node, x: string, y: string): Node[] | undefined {
  const without = nodes.filter((n) => n !== node);
  if (!isGraphOutput(g, y)) return renameValue(without, y, x);
  const xIsProduced = without.some((n) => n.outputs.includes(x));
  if (!xIsProduced || isGraphOutput(g, x) || isGraphInput(g, x) || g.initializers.has(x)) return undefined;
  return renameValue(without, x, y);
}

/** A value/initializer/node name not used anywhere in `g` (nor in `taken`), derived from `base`. */
export function freshName(g: Graph, base: string, taken: ReadonlySet<string> = new Set()): string {
  const used = (s: string): boolean => g.values.has(s) || g.initializers.has(s) || taken.has(s) || g.nodes.some((n) => n.name === s);
  if (!used(base)) return base;
  for (let i = 1; ; i++) if (!used(`${base}_${i}`)) return `${base}_${i}`;
}
