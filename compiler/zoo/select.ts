// selectModel(target): the most accurate zoo model whose int8 module fits the target (flash for the
// module, RAM for the arena, both after the firmware's own overhead). Ranked by int8 accuracy, the
// accuracy the device will actually deliver; float accuracy breaks ties.
import { fits, getTarget, type FitOptions, type FitResult, type TargetProfile } from '../targets/index.ts';
import { zooModels, type ZooModel } from './zoo.ts';

export type ZooCandidate = { readonly model: ZooModel; readonly fit: FitResult };

export type ZooSelection = {
  /** the chosen model, or null when none fits */
  readonly model: ZooModel | null;
  readonly fit: FitResult | null;
  /** every model considered, best first, with its fit (to explain the choice) */
  readonly candidates: readonly ZooCandidate[];
};

export function selectModel(target: string | TargetProfile, opts: FitOptions = {}, models: readonly ZooModel[] = zooModels()): ZooSelection {
  const t = typeof target === 'string' ? getTarget(target) : target;
  const candidates = models
    .map((model) => {
      if (!model.int8) throw new Error(`zoo model '${model.name}' has no int8 footprint; run scripts/zoo-footprints.ts`);
      return { model, fit: fits({ moduleBytes: model.int8.moduleBytes, arenaBytes: model.int8.arenaBytes }, t, opts) };
    })
    .sort((a, b) => (b.model.int8?.accuracy ?? 0) - (a.model.int8?.accuracy ?? 0) || b.model.floatAccuracy - a.model.floatAccuracy);
  const best = candidates.find((c) => c.fit.fits);
  return { model: best?.model ?? null, fit: best?.fit ?? null, candidates };
}
