// The plan checker (issue 11 §4): replays the schedule op by op, independently of the planner's own
// lifetime code, and reports every moment two live tensors share a byte. A tensor is live from the
// op that writes it (the graph input from the start) to the last op that reads it (the graph output
// to the end). The one sharing allowed is an in-place op: its output may sit exactly on the input it
// may overwrite (in-place.ts) when that input dies at this op. Also: every tensor inside the arena
// and aligned.
import type { ModuleOp } from '../module/module-types.ts';
import { inPlaceInput, type TensorShape } from './in-place.ts';

export type PlacedTensor = TensorShape & { readonly offset: number };

export function replayPlan(ops: readonly ModuleOp[], tensors: readonly PlacedTensor[], graphInput: number, graphOutput: number, arenaBytes: number, alignment: number): string[] {
  const problems: string[] = [];
  tensors.forEach((t, i) => {
    if (t.offset < 0 || t.offset + t.bytes > arenaBytes) problems.push(`tensor ${i} [${t.offset}, ${t.offset + t.bytes}) outside the ${arenaBytes}-byte arena`);
    if (t.offset % alignment !== 0) problems.push(`tensor ${i} at ${t.offset} not aligned to ${alignment}`);
  });
  const lastRead = tensors.map(() => -1);
  ops.forEach((op, i) => {
    for (const t of op.inputs) lastRead[t] = i;
  });
  lastRead[graphOutput] = ops.length;
  const live = new Set<number>([graphInput]);
  const overlap = (a: number, b: number): boolean => tensors[a].offset < tensors[b].offset + tensors[b].bytes && tensors[b].offset < tensors[a].offset + tensors[a].bytes;
  ops.forEach((op, i) => {
    for (const t of op.inputs) if (!live.has(t)) problems.push(`op ${i} reads tensor ${t} before it is written or after it died`);
    const inPlace = inPlaceInput(op, tensors);
    for (const out of op.outputs) {
      for (const other of live) {
        if (other === out || tensors[other].bytes === 0 || tensors[out].bytes === 0 || !overlap(out, other)) continue;
        const allowed = other === inPlace && lastRead[other] === i && other !== graphInput && tensors[other].offset === tensors[out].offset;
        if (!allowed) problems.push(`op ${i} writes tensor ${out} over live tensor ${other}`);
      }
    }
    for (const out of op.outputs) live.add(out);
    for (const t of [...live]) if (lastRead[t] <= i && t !== graphOutput && !op.outputs.includes(t)) live.delete(t);
    // an output nobody reads dies at its producer
    for (const out of op.outputs) if (lastRead[out] <= i && out !== graphOutput) live.delete(out);
  });
  return problems;
}
