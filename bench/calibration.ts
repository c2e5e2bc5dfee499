// Calibration methods on the zoo (issue 11 §3): int8 top-1 accuracy with min/max, percentile,
// entropy (KL) and per-tensor ('auto') ranges, each from the same 200 training images, on the first
// N test images; and the CPU time of calibrating on 2,000 images (min/max, or --time-methods) for
// the models named by --time.
//
//   npx tsx bench/calibration.ts [--models cnn,lenet] [--images 2000] [--methods minmax,auto] [--time dscnn] [--time-methods minmax,auto]
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { compile } from '../compiler/compile.ts';
import { calibrate, type CalibrationMethod } from '../compiler/quantize/calibrate.ts';
import { defaultCalibrationSet, loadFashionMnist } from '../compiler/quantize/calibration-set.ts';
import { methodLabel } from '../compiler/quantize/histogram-range.ts';
import { importOnnx } from '../compiler/onnx/import-onnx.ts';
import { runPasses } from '../compiler/passes/run-passes.ts';
import { loadModule } from '../compiler/runtime/load-module.ts';
import { zooModels } from '../compiler/zoo/zoo.ts';

const { values } = parseArgs({ options: { models: { type: 'string' }, images: { type: 'string', default: '2000' }, methods: { type: 'string' }, time: { type: 'string' }, 'time-methods': { type: 'string' } } });
const only = values.models?.split(',');
const test = loadFashionMnist('test', Number(values.images));
const calib = defaultCalibrationSet(200);
const allMethods: CalibrationMethod[] = [{ kind: 'minmax' }, { kind: 'percentile', percentile: 99.99 }, { kind: 'percentile', percentile: 99.9 }, { kind: 'entropy' }, { kind: 'auto' }];
const methods = allMethods.filter((m) => !values.methods || values.methods.split(',').includes(methodLabel(m).replace(' ', ':')));
const label = methodLabel;

console.log(`load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}; int8 top-1 on the first ${test.images.length} test images, 200 calibration images`);
console.log(`| model | ${methods.map(label).join(' | ')} |`);
console.log(`|---|${methods.map(() => '---:').join('|')}|`);
for (const z of zooModels().filter((m) => !only || only.includes(m.name))) {
  const onnx = readFileSync(z.path);
  const cells = methods.map((method) => {
    const r = compile(onnx, { target: 'esp32', calibration: calib, calibrationMethod: method, requireFit: false });
    const m = loadModule(r.module);
    let ok = 0;
    test.images.forEach((x, i) => { if (m.invoke(x).label === test.labels[i]) ok++; });
    return `${((100 * ok) / test.images.length).toFixed(2)}%`;
  });
  console.log(`| ${z.name} | ${cells.join(' | ')} |`);
}

for (const name of values.time?.split(',') ?? []) {
  const z = zooModels().find((m) => m.name === name);
  if (!z) continue;
  const graph = runPasses(importOnnx(readFileSync(z.path)));
  const images = loadFashionMnist('train', 2000).images;
  for (const method of values['time-methods']?.split(',') ?? ['minmax']) {
    const m = allMethods.find((a) => methodLabel(a).replace(' ', ':') === method) ?? { kind: 'minmax' };
    for (let k = 0; k < 2; k++) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      calibrate(graph, images, undefined, m);
      const c = process.cpuUsage(c0);
      console.log(`calibrate ${name} on 2,000 images (${methodLabel(m)}): ${((c.user + c.system) / 1e6).toFixed(2)} s CPU, ${((performance.now() - t0) / 1000).toFixed(2)} s wall, load ${loadavg()[0].toFixed(1)}`);
    }
  }
}
