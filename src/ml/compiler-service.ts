// Compiles ONNX models for a target in a worker thread (one at a time: 2 cores, and the server
// needs one of them).
import { Worker } from 'node:worker_threads';
import type { CompileReport, CompileProgress } from '../../compiler/compile.ts';

export type CompileOutcome = { module: Uint8Array; report: CompileReport; cHeader: string };

export class CompileFailure extends Error {
  constructor(readonly code: string, message: string, readonly details: unknown) {
    super(message);
  }
}

export class CompilerService {
  private queue: Promise<unknown> = Promise.resolve();

  compile(onnx: Uint8Array, target: string, name: string, onProgress?: (p: CompileProgress) => void, version?: string): Promise<CompileOutcome> {
    const run = (): Promise<CompileOutcome> => new Promise((resolve, reject) => {
      const worker = new Worker(new URL('./compile-worker.mjs', import.meta.url), { workerData: { onnx, target, name, version } });
      worker.on('message', (m: { progress?: CompileProgress; ok?: boolean; module?: Uint8Array; report?: CompileReport; cHeader?: string; code?: string; message?: string; details?: unknown }) => {
        if (m.progress) {
          onProgress?.(m.progress);
          return;
        }
        if (m.ok) resolve({ module: m.module!, report: m.report!, cHeader: m.cHeader! });
        else reject(new CompileFailure(m.code ?? 'COMPILE_FAILED', m.message ?? 'compile failed', m.details));
        void worker.terminate();
      });
      worker.on('error', (e) => reject(new CompileFailure('COMPILE_CRASHED', e.message, null)));
      worker.on('exit', (code) => {
        if (code !== 0) reject(new CompileFailure('COMPILE_CRASHED', `compiler worker exited with ${code}`, null));
      });
    });
    const p = this.queue.then(run, run);
    this.queue = p.catch(() => undefined);
    return p;
  }
}
