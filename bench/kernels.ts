// TS int8 runtime vs onnxruntime-node float, per zoo model, in the same process and run (issue 11
// §5). Time per inference is the best of several batches of process CPU time (user + system), which
// a shared, loaded machine distorts far less than wall time; ORT runs one intra-op thread.
//
//   npx tsx bench/kernels.ts [--models cnn,resnet] [--batches 15]
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import './support/no-telemetry.ts';
import * as ort from 'onnxruntime-node';
import { compile } from '../compiler/compile.ts';
import { defaultCalibrationSet, loadFashionMnist } from '../compiler/quantize/calibration-set.ts';
import { loadModule } from '../compiler/runtime/load-module.ts';
import { zooModels } from '../compiler/zoo/zoo.ts';

const { values } = parseArgs({ options: { models: { type: 'string' }, batches: { type: 'string', default: '15' } } });
const only = values.models?.split(',');
const batches = Number(values.batches);
const PER_BATCH = 20;

async function bestCpuUs(f: () => unknown): Promise<number> {
  let best = Infinity;
  for (let r = 0; r < batches; r++) {
    const c0 = process.cpuUsage();
    for (let i = 0; i < PER_BATCH; i++) await f();
    const c = process.cpuUsage(c0);
    best = Math.min(best, (c.user + c.system) / PER_BATCH);
  }
  return best;
}

const calib = defaultCalibrationSet(); // 200 training images, as compile() uses by default
const test = loadFashionMnist('test', 20).images;
console.log(`node ${process.version}, ${cpus()[0]?.model ?? 'cpu'} x${cpus().length}, load average at start ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
console.log('| model | MACs | arena greedy / ours (B) | compile, 200-image calibration (s CPU) | TS int8 µs/inf (CPU) | ORT float µs/inf (CPU) | TS / ORT | TS MMAC/s | load |');
console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const z of zooModels().filter((m) => !only || only.includes(m.name))) {
  const onnx = readFileSync(z.path);
  const c0 = process.cpuUsage();
  const r = compile(onnx, { target: 'esp32', calibration: calib, requireFit: false });
  const cc = process.cpuUsage(c0);
  const m = loadModule(r.module);
  const xs = test.map((x) => m.quantizeInput(x));
  let i = 0;
  const ts = await bestCpuUs(() => m.invoke(xs[i++ % xs.length]));
  const s = await ort.InferenceSession.create(onnx, { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential' });
  const feeds = test.map((x) => ({ [s.inputNames[0]]: new ort.Tensor('float32', x, [1, 1, 28, 28]) }));
  const os = await bestCpuUs(() => s.run(feeds[i++ % feeds.length]));
  await s.release();
  console.log(`| ${z.name} | ${r.report.macs.toLocaleString('en-US')} | ${r.report.arenaBytesGreedy} / ${r.report.arenaBytes} | ${((cc.user + cc.system) / 1e6).toFixed(2)} | ${ts.toFixed(0)} | ${os.toFixed(0)} | ${(ts / os).toFixed(1)}x | ${(r.report.macs / ts).toFixed(0)} | ${loadavg()[0].toFixed(1)} |`);
}
