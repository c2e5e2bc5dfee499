// Compiler benchmark: per zoo model, compile time (import + passes + calibration on 200 images +
// quantize + plan + emit + verify) and single-image inference latency of the TS int8 runtime vs
// onnxruntime-node (float32, CPU, 1 thread) on the same Fashion-MNIST test images.
//
//   npx tsx bench/compile.ts [--images 1000] [--compiles 3]
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import './support/no-telemetry.ts';
import * as ort from 'onnxruntime-node';
import { compile } from '../compiler/compile.ts';
import { defaultCalibrationSet, loadFashionMnist } from '../compiler/quantize/calibration-set.ts';
import { argmax } from '../compiler/quantize/evaluate.ts';
import { loadModule } from '../compiler/runtime/load-module.ts';
import { zooModels } from '../compiler/zoo/zoo.ts';

const { values } = parseArgs({ options: { images: { type: 'string', default: '1000' }, compiles: { type: 'string', default: '3' } } });
const nImages = Number(values.images);
const nCompiles = Number(values.compiles);

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

type Row = { model: string; macs: number; compileMs: number; int8Us: number; int8CpuUs: number; ortUs: number; ortCpuUs: number; agree: number };

/** CPU microseconds of this process (all threads) since `from`: robust on a shared, loaded machine */
const cpuSince = (from: NodeJS.CpuUsage): number => {
  const c = process.cpuUsage(from);
  return c.user + c.system;
};

async function main(): Promise<void> {
  const test = loadFashionMnist('test', nImages);
  const calib = defaultCalibrationSet(); // loaded once; compile time below excludes reading the dataset
  const rows: Row[] = [];
  for (const z of zooModels()) {
    const onnx = readFileSync(z.path);
    const times: number[] = [];
    let result = compile(onnx, { target: 'esp32', name: z.name, calibration: calib });
    for (let i = 0; i < nCompiles; i++) {
      const t0 = performance.now();
      result = compile(onnx, { target: 'esp32', name: z.name, calibration: calib });
      times.push(performance.now() - t0);
    }
    const m = loadModule(result.module);
    const int8Inputs = test.images.map((x) => m.quantizeInput(x));
    for (let i = 0; i < 200; i++) m.invoke(int8Inputs[i % int8Inputs.length]); // warm-up (JIT)
    const labels = new Uint8Array(int8Inputs.length);
    let t0 = performance.now();
    let c0 = process.cpuUsage();
    int8Inputs.forEach((x, i) => { labels[i] = m.invoke(x).label; });
    const int8Us = ((performance.now() - t0) * 1000) / int8Inputs.length;
    const int8CpuUs = cpuSince(c0) / int8Inputs.length;

    const session = await ort.InferenceSession.create(onnx, { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential' });
    const feeds = test.images.map((x) => ({ [session.inputNames[0]]: new ort.Tensor('float32', x, [1, 1, 28, 28]) }));
    for (let i = 0; i < 200; i++) await session.run(feeds[i % feeds.length]);
    let agree = 0;
    t0 = performance.now();
    c0 = process.cpuUsage();
    for (let i = 0; i < feeds.length; i++) {
      const out = await session.run(feeds[i]);
      if (argmax(out[session.outputNames[0]].data as Float32Array) === labels[i]) agree++;
    }
    const ortUs = ((performance.now() - t0) * 1000) / feeds.length;
    const ortCpuUs = cpuSince(c0) / feeds.length;
    await session.release();
    rows.push({ model: z.name, macs: result.report.macs, compileMs: median(times), int8Us, int8CpuUs, ortUs, ortCpuUs, agree: agree / feeds.length });
  }

  console.log(`node ${process.version}, ${cpus()[0]?.model ?? 'cpu'} x${cpus().length}, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}, ${nImages} test images, median of ${nCompiles} compiles`);
  console.log('| model | MACs | compile (ms) | TS int8 µs/inf (wall / CPU) | ORT float µs/inf (wall / CPU) | TS int8 / ORT (wall / CPU) | top-1 agreement |');
  console.log('|---|---:|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    console.log(
      `| ${r.model} | ${r.macs.toLocaleString('en-US')} | ${r.compileMs.toFixed(0)} | ${r.int8Us.toFixed(0)} / ${r.int8CpuUs.toFixed(0)} | ${r.ortUs.toFixed(0)} / ${r.ortCpuUs.toFixed(0)} | ` +
        `${(r.int8Us / r.ortUs).toFixed(1)}x / ${(r.int8CpuUs / r.ortCpuUs).toFixed(1)}x | ${(r.agree * 100).toFixed(1)}% |`,
    );
  }
}

await main();
