// Compiles every zoo model and writes its int8 figures into compiler/zoo/models/manifest.json
// (module bytes, arena bytes, MACs, int8 accuracy on the full Fashion-MNIST test set), which
// selectModel() ranks by. Run after scripts/train_zoo.py:
//
//   npx tsx scripts/zoo-footprints.ts [--only name,name]
import { readFileSync, writeFileSync } from 'node:fs';
import { compile } from '../compiler/compile.ts';
import { loadFashionMnist } from '../compiler/quantize/calibration-set.ts';
import { ZOO_MODELS_DIR, zooModels } from '../compiler/zoo/zoo.ts';
import { loadModule } from '../compiler/runtime/load-module.ts';

const manifestUrl = new URL('manifest.json', ZOO_MODELS_DIR);
const manifest = JSON.parse(readFileSync(manifestUrl, 'utf8')) as { models: Record<string, unknown>[] };
const test = loadFashionMnist('test');
const only = process.argv.includes('--only') ? new Set(process.argv[process.argv.indexOf('--only') + 1].split(',')) : undefined;
for (const z of zooModels().filter((m) => !only || only.has(m.name))) {
  const r = compile(readFileSync(z.path), { target: 'esp32', name: z.name, requireFit: false });
  const m = loadModule(r.module);
  let ok = 0;
  test.images.forEach((x, i) => { if (m.invoke(x).label === test.labels[i]) ok++; });
  const int8 = { accuracy: Math.round((ok / test.images.length) * 1e4) / 1e4, moduleBytes: r.report.moduleBytes, arenaBytes: r.report.arenaBytes, macs: r.report.macs };
  const entry = manifest.models.find((e) => e.name === z.name);
  if (entry) entry.int8 = int8;
  console.log(`${z.name}: float ${z.floatAccuracy}, int8 ${int8.accuracy}, module ${int8.moduleBytes} B, arena ${int8.arenaBytes} B, ${int8.macs} MACs`);
}
writeFileSync(manifestUrl, `${JSON.stringify(manifest, null, 2)}\n`);
