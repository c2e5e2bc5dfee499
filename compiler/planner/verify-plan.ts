// Independent check of a plan: every buffer inside the arena, aligned, and no two buffers that are
// live at the same time share a byte. Used by tests and by the emitter before it writes a module.
import type { Lifetime } from './lifetimes.ts';
import { overlapInTime } from './lifetimes.ts';
import type { MemoryPlan } from './memory-plan.ts';

export function planViolations(lifetimes: readonly Lifetime[], plan: MemoryPlan): string[] {
  const problems: string[] = [];
  lifetimes.forEach((b, i) => {
    const off = plan.offsets[i];
    if (b.size === 0) return;
    if (off % plan.alignment !== 0) problems.push(`tensor ${b.tensor} offset ${off} not aligned to ${plan.alignment}`);
    if (off < 0 || off + b.size > plan.arenaBytes) problems.push(`tensor ${b.tensor} [${off}, ${off + b.size}) outside arena of ${plan.arenaBytes}`);
  });
  for (let i = 0; i < lifetimes.length; i++) {
    const a = lifetimes[i];
    if (a.size === 0) continue;
    for (let j = i + 1; j < lifetimes.length; j++) {
      const b = lifetimes[j];
      if (b.size === 0 || !overlapInTime(a, b)) continue;
      const ao = plan.offsets[i];
      const bo = plan.offsets[j];
      if (ao < bo + b.size && bo < ao + a.size) problems.push(`tensors ${a.tensor} and ${b.tensor} are live together and overlap`);
    }
  }
  return problems;
}
