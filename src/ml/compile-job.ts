// Runs the compiler off the event loop: compiling costs seconds of CPU, and the CoAP socket must
// keep answering devices meanwhile.
import { parentPort, workerData } from 'node:worker_threads';
import { compile } from '../../compiler/compile.ts';

type Job = { onnx: Uint8Array; target: string; name: string; version?: string };
const job = workerData as Job;
try {
  const r = compile(job.onnx, {
    target: job.target, name: job.name, version: job.version,
    onProgress: (p) => parentPort?.postMessage({ progress: p }),
  });
  parentPort?.postMessage({ ok: true, module: r.module, report: r.report, cHeader: r.cHeader });
} catch (e) {
  const err = e as Error & { code?: string; details?: unknown };
  parentPort?.postMessage({ ok: false, code: err.code ?? 'COMPILE_FAILED', message: err.message, details: err.details ?? null });
}
