// A constant-zero Pad of the spatial dims feeding a Conv or an AveragePool becomes that op's own
// padding (PyTorch exports AvgPool2d(padding=p) with count_include_pad as Pad + AveragePool):
//   Pad(0) -> Conv                      == Conv with pads += the Pad's
//   Pad(0) -> AveragePool (no own pads) == AveragePool with pads and count_include_pad = 1
// (the padded zeros are real elements of the average). Only when the Pad's output has no other
// reader and is not a graph output; a MaxPool is left alone (its padding is -inf, not 0).
import { attrInts, attrString } from '../ir/attrs.ts';
import type { Graph, Node } from '../ir/graph.ts';
import { intValues } from '../ir/tensor.ts';
import { consumers, outputNames, rebuild } from './graph-edit.ts';

export function foldPad(g: Graph): Graph {
  if (!g.nodes.some((n) => n.op === 'Pad')) return g;
  const uses = consumers(g.nodes);
  const outputs = outputNames(g);
  const replaced = new Map<Node, Node>();
  const dropped = new Set<Node>();
  for (const pad of g.nodes) {
    if (pad.op !== 'Pad' || attrString(pad, 'mode', 'constant') !== 'constant') continue;
    const padsT = g.initializers.get(pad.inputs[1]);
    const value = pad.inputs[2] ? g.initializers.get(pad.inputs[2]) : undefined;
    if (!padsT || (pad.inputs[2] && !(value && value.data.length === 1 && Number(value.data[0]) === 0))) continue;
    const pads = intValues(padsT.data, 'Pad');
    const rank = pads.length / 2;
    if (rank !== 4 || pads[0] || pads[1] || pads[4] || pads[5] || pads.some((p) => p < 0)) continue;
    const y = pad.outputs[0];
    const readers = uses.get(y) ?? [];
    if (readers.length !== 1 || outputs.has(y)) continue;
    const next = readers[0];
    if (next.inputs[0] !== y || replaced.has(next) || attrString(next, 'auto_pad', 'NOTSET') !== 'NOTSET') continue;
    const own = attrInts(next, 'pads') ?? [0, 0, 0, 0];
    const merged = [own[0] + pads[2], own[1] + pads[3], own[2] + pads[6], own[3] + pads[7]];
    if (next.op === 'Conv') {
      replaced.set(next, { ...next, inputs: [pad.inputs[0], ...next.inputs.slice(1)], attrs: { ...next.attrs, pads: merged } });
    } else if (next.op === 'AveragePool' && own.every((p) => p === 0)) {
      replaced.set(next, { ...next, inputs: [pad.inputs[0]], attrs: { ...next.attrs, pads: merged, count_include_pad: 1 } });
    } else {
      continue;
    }
    dropped.add(pad);
  }
  if (dropped.size === 0) return g;
  return rebuild(g, g.nodes.filter((n) => !dropped.has(n)).map((n) => replaced.get(n) ?? n));
}
