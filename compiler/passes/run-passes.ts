// Placeholder until the passes land: identity.
import type { Graph } from '../ir/graph.ts';

export function runPasses(g: Graph): Graph {
  return g;
}
