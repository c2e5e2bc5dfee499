// Runs the compiler off the event loop: compiling costs seconds of CPU, and the CoAP socket must
// keep answering devices meanwhile.
import { parentPort, workerData } from 'node:worker_threads';
import { compile, type CompileResult } from '../../compiler/compile.ts';
import { loadFashionMnist, SAMPLE_TEST_COUNT } from '../../compiler/quantize/calibration-set.ts';
import { evaluateAccuracy } from '../../compiler/quantize/evaluate.ts';
import { loadModule } from '../../compiler/runtime/load-module.ts';

type Job = { onnx: Uint8Array; target: string; name: string; version?: string };
const job = workerData as Job;

/**
 * Float vs int8 accuracy and the confusion matrix (the dashboard's report), on the Fashion-MNIST
 * test images (the shipped sample's 200 when the Debian dataset is absent), for a model that takes
 * a 28x28 image and gives 10 classes, as the zoo's do. Any other model gets no accuracy: the
 * server holds no labeled data for it.
 */
function withAccuracy(r: CompileResult): CompileResult {
  const input = r.graph.inputs[0]?.shape.reduce((a, b) => a * b, 1);
  const output = r.graph.outputs[0]?.shape.reduce((a, b) => a * b, 1);
  if (input !== 784 || output !== 10) return r;
  try {
    const set = loadFashionMnist('test', SAMPLE_TEST_COUNT);
    return { ...r, report: { ...r.report, accuracy: evaluateAccuracy(r.graph, loadModule(r.module), set) } };
  } catch {
    return r; // the module is good all the same; its report says nothing about accuracy
  }
}

try {
  const r = withAccuracy(compile(job.onnx, {
    target: job.target, name: job.name, version: job.version,
    onProgress: (p) => parentPort?.postMessage({ progress: p }),
  }));
  parentPort?.postMessage({ ok: true, module: r.module, report: r.report, cHeader: r.cHeader });
} catch (e) {
  const err = e as Error & { code?: string; details?: unknown };
  parentPort?.postMessage({ ok: false, code: err.code ?? 'COMPILE_FAILED', message: err.message, details: err.details ?? null });
}
