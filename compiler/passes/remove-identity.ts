// Removes Identity nodes and inference-mode Dropout nodes (Dropout-13: y = x when not training;
// the importer already rejected Dropouts that expose their training mask).
import type { Graph } from '../ir/graph.ts';
import { rebuild, removePassThrough } from './graph-edit.ts';

export function removeIdentity(g: Graph): Graph {
  return rebuild(g, removePassThrough(g, (n) => n.op === 'Identity' || n.op === 'Dropout'));
}
