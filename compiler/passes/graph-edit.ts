// Small, pure helpers the passes share: use counts, pass-through removal, fresh names. All are
// linear in the graph size (a hostile model may have millions of nodes).
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

export function outputNames(g: Graph): Set<string> {
  return new Set(g.outputs.map((o) => o.name));
}

/**
 * Removes pass-through nodes (nodes whose output `y` equals their input `x`: Identity, inference
 * Dropout, a no-op Reshape) in one linear sweep. Readers of `y` read `x` instead. When `y` is a
 * graph output (its name is part of the model's interface) the producer of `x` is made to write `y`
 * directly, if `x` is an ordinary intermediate; otherwise the node stays (e.g. a graph input passed
 * straight to a graph output).
 */
export function removePassThrough(g: Graph, isPassThrough: (n: Node) => boolean): Node[] {
  const outputs = outputNames(g);
  const inputs = new Set(g.inputs.map((i) => i.name));
  const alias = new Map<string, string>(); // y -> x, x already resolved
  const resolve = (v: string): string => alias.get(v) ?? v;
  const kept: Node[] = [];
  for (const n0 of g.nodes) {
    const n = n0.inputs.some((v) => alias.has(v)) ? { ...n0, inputs: n0.inputs.map(resolve) } : n0;
    if (isPassThrough(n0) && !outputs.has(n.outputs[0])) {
      alias.set(n.outputs[0], n.inputs[0]);
      continue;
    }
    kept.push(n);
  }
  const produced = new Set(kept.flatMap((n) => n.outputs));
  const rename = new Map<string, string>(); // x -> y
  const drop = new Set<Node>();
  for (const n of kept) {
    if (!isPassThrough(n)) continue;
    const x = n.inputs[0];
    const y = n.outputs[0];
    if (!produced.has(x) || outputs.has(x) || inputs.has(x) || g.initializers.has(x) || rename.has(x)) continue;
    rename.set(x, y);
    drop.add(n);
  }
  if (rename.size === 0) return kept;
  const r = (v: string): string => rename.get(v) ?? v;
  return kept.filter((n) => !drop.has(n)).map((n) => ({ ...n, inputs: n.inputs.map(r), outputs: n.outputs.map(r) }));
}

/** Returns a function giving names unused anywhere in `g` (nor by earlier calls), derived from a base. */
export function nameTaker(g: Graph): (base: string) => string {
  const used = new Set<string>([...g.values.keys(), ...g.initializers.keys(), ...g.nodes.map((n) => n.name)]);
  return (base) => {
    let name = base;
    for (let i = 1; used.has(name); i++) name = `${base}_${i}`;
    used.add(name);
    return name;
  };
}
