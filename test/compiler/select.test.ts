import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { getTarget, TARGET_IDS, type TargetProfile } from '../../compiler/targets/index.ts';
import { selectModel } from '../../compiler/zoo/select.ts';
import { zooModels } from '../../compiler/zoo/zoo.ts';

const base = getTarget('nrf52840');
const custom = (ramFree: number, flashFree: number): TargetProfile => ({
  ...base,
  id: 'custom',
  ramBytes: base.runtimeOverhead.ramBytes + ramFree,
  flashBytes: base.runtimeOverhead.flashBytes + flashFree,
});

describe('zoo selection', () => {
  it('the manifest lists the zoo models with float and int8 figures and existing files', () => {
    const zoo = zooModels();
    expect(zoo.map((z) => z.name).sort()).toEqual(['bncnn', 'cnn', 'dscnn', 'lenet', 'mlp', 'resnet', 'shufflenet', 'sigmlp']);
    for (const z of zoo) {
      expect(readFileSync(z.path).length).toBe(z.fileBytes);
      expect(z.fileBytes).toBeLessThan(500 * 1024);
      expect(z.int8?.accuracy).toBeGreaterThan(0.83);
      expect(Math.abs((z.int8?.accuracy ?? 0) - z.floatAccuracy)).toBeLessThanOrEqual(0.003); // within 0.3 points (issue 11)
    }
  });

  it('picks the most accurate model that fits every real target', () => {
    const best = [...zooModels()].sort((a, b) => (b.int8?.accuracy ?? 0) - (a.int8?.accuracy ?? 0))[0];
    for (const id of TARGET_IDS) expect(selectModel(id).model?.name).toBe(best.name);
  });

  it('falls back to a less accurate model when the best does not fit, and to null when none does', () => {
    const zoo = zooModels();
    const byName = new Map(zoo.map((z) => [z.name, z]));
    const mlp = byName.get('mlp')!.int8!;
    // the most accurate model whose footprint fits the given free RAM and flash
    const bestWithin = (ram: number, flash: number): string | undefined =>
      zoo.filter((z) => z.int8 && z.int8.arenaBytes <= ram && z.int8.moduleBytes <= flash).sort((a, b) => (b.int8?.accuracy ?? 0) - (a.int8?.accuracy ?? 0))[0]?.name;
    // RAM for the MLP's tiny arena only: only the MLP-sized arenas are candidates
    const ramOnly = selectModel(custom(mlp.arenaBytes + 16, 10_000_000));
    expect(ramOnly.model?.name).toBe(bestWithin(mlp.arenaBytes + 16, 10_000_000));
    expect(['mlp', 'sigmlp']).toContain(ramOnly.model?.name);
    // flash too small for the MLP's weights: the best conv net that fits
    const flashSmall = selectModel(custom(1_000_000, 20_000));
    expect(flashSmall.model?.name).toBe(bestWithin(1_000_000, 20_000));
    expect(['cnn', 'dscnn', 'bncnn', 'shufflenet']).toContain(flashSmall.model?.name);
    expect(flashSmall.candidates.find((c) => c.model.name === 'mlp')?.fit.flashOverBy).toBeGreaterThan(0);
    const none = selectModel(custom(100, 100));
    expect(none.model).toBeNull();
    expect(none.candidates).toHaveLength(zoo.length);
  });
});
