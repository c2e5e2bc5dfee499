// The model zoo: ONNX models trained by scripts/train_zoo.py, described by models/manifest.json.
// Per-model int8 figures (module and arena bytes, int8 accuracy) are added to the manifest by
// scripts/zoo-footprints.ts, so selection needs no compilation.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export type ZooModel = {
  readonly name: string;
  readonly file: string;
  /** absolute path of the .onnx file */
  readonly path: string;
  readonly description: string;
  /** float top-1 accuracy on the Fashion-MNIST test set (10,000 images), 0..1 */
  readonly floatAccuracy: number;
  readonly params: number;
  readonly fileBytes: number;
  /** present once scripts/zoo-footprints.ts has run */
  readonly int8?: {
    readonly accuracy: number;
    readonly moduleBytes: number;
    readonly arenaBytes: number;
    readonly macs: number;
  };
};

export const ZOO_MODELS_DIR = new URL('./models/', import.meta.url);

type ManifestEntry = Omit<ZooModel, 'path'>;

export function zooModels(): ZooModel[] {
  const manifest = JSON.parse(readFileSync(new URL('manifest.json', ZOO_MODELS_DIR), 'utf8')) as { models: ManifestEntry[] };
  return manifest.models.map((m) => ({ ...m, path: fileURLToPath(new URL(m.file, ZOO_MODELS_DIR)) }));
}

export function zooModel(name: string): ZooModel {
  const m = zooModels().find((z) => z.name === name);
  if (!m) throw new Error(`no zoo model '${name}' (have: ${zooModels().map((z) => z.name).join(', ')})`);
  return m;
}
