// The models integrators upload (ONNX) and the modules compiled from them, one per target.
// ONNX files and modules are blobs in the package repository; this keeps their metadata.
import { randomBytes } from 'node:crypto';
import type { CompileReport } from '../../compiler/compile.ts';
import { isCompileError } from '../../compiler/ir/compile-error.ts';
import { importOnnx } from '../../compiler/onnx/import-onnx.ts';
import { COMPILER_VERSION } from '../../compiler/version.ts';
import type { PackageRepository } from '../ota/package-repository.ts';
import type { Collection } from '../store/collection.ts';
import type { CompilerService } from './compiler-service.ts';

export type CompiledModule = {
  target: string;
  moduleDigest: string;
  moduleBytes: number;
  arenaBytes: number;
  macs: number;
  compiledAt: number;
  report: CompileReport;
  /** the compiler that made it (compiler/version.ts); absent in modules from before it was recorded */
  compilerVersion?: string;
};

export type ModelEntry = {
  id: string;
  name: string;
  version: string;
  onnxDigest: string;
  onnxBytes: number;
  createdAt: number;
  labels?: string[];
  modules: Record<string, CompiledModule>;
};

export class CatalogError extends Error {
  constructor(readonly code: 'MODEL_NOT_FOUND' | 'BAD_NAME' | 'NOT_ONNX' | 'UNSUPPORTED_MODEL', message: string, readonly details?: unknown) {
    super(message);
  }
}

/**
 * An upload must be a model the importer reads: bytes that are not an ONNX ModelProto are
 * NOT_ONNX (the API's 400); a well-formed model the compiler cannot take (operator, type, opset,
 * size) is UNSUPPORTED_MODEL (422). Either way with the importer's own reason.
 */
export function checkOnnx(onnx: Uint8Array): void {
  try {
    importOnnx(onnx, { maxBytes: Math.max(onnx.length, 1) });
  } catch (e) {
    if (!isCompileError(e)) throw e;
    const code = e.code === 'BAD_MODEL' ? 'NOT_ONNX' : 'UNSUPPORTED_MODEL';
    throw new CatalogError(code, `not a usable ONNX model: ${e.message}`, { importer: e.code });
  }
}

export class ModelCatalog {
  private readonly compiling = new Map<string, Promise<CompiledModule>>();

  constructor(private readonly items: Collection<ModelEntry>, private readonly repo: PackageRepository, private readonly compiler: CompilerService) {}

  async add(name: string, version: string, onnx: Uint8Array, labels?: string[]): Promise<ModelEntry> {
    if (!/^[A-Za-z0-9._-]{1,64}$/.test(name)) throw new CatalogError('BAD_NAME', 'name: 1-64 characters of letters, digits, ".", "_" or "-"');
    checkOnnx(onnx);
    const { digest } = await this.repo.put(onnx);
    const entry: ModelEntry = { id: randomBytes(6).toString('hex'), name, version, onnxDigest: digest, onnxBytes: onnx.length, createdAt: Date.now(), labels, modules: {} };
    await this.items.save(entry);
    return entry;
  }

  get(id: string): Promise<ModelEntry | undefined> {
    return this.items.get(id);
  }

  async list(): Promise<ModelEntry[]> {
    return (await this.items.all()).sort((a, b) => a.createdAt - b.createdAt);
  }

  /** Which model and target a module digest came from. */
  async byModuleDigest(digest: string): Promise<{ model: ModelEntry; module: CompiledModule } | undefined> {
    for (const m of await this.items.all()) for (const mod of Object.values(m.modules)) if (mod.moduleDigest === digest) return { model: m, module: mod };
    return undefined;
  }

  /**
   * The model's module for a target, compiled only when none was made by this compiler version
   * (cached by model + target + compiler version); one compile per key at a time.
   */
  async compileCached(id: string, target: string): Promise<{ module: CompiledModule; cached: boolean }> {
    const entry = await this.items.get(id);
    if (!entry) throw new CatalogError('MODEL_NOT_FOUND', `no model ${id}`);
    const have = entry.modules[target];
    if (have && have.compilerVersion === COMPILER_VERSION && (await this.repo.has(have.moduleDigest))) return { module: have, cached: true };
    const key = `${id}/${target}`;
    let p = this.compiling.get(key);
    if (!p) {
      p = this.compile(id, target).finally(() => this.compiling.delete(key));
      this.compiling.set(key, p);
    }
    return { module: await p, cached: false };
  }

  /** Compiles for a target (in a worker thread) and stores the module; a CompileFailure passes through. */
  async compile(id: string, target: string, onProgress?: (stage: string) => void): Promise<CompiledModule> {
    const entry = await this.items.get(id);
    if (!entry) throw new CatalogError('MODEL_NOT_FOUND', `no model ${id}`);
    const onnx = await this.repo.get(entry.onnxDigest);
    if (!onnx) throw new CatalogError('MODEL_NOT_FOUND', `the ONNX file of model ${id} is gone`);
    // the module carries the model's full name and version (issue 10): /32001 shows them on the device
    const out = await this.compiler.compile(onnx, target, entry.name, (p) => onProgress?.(p.stage), entry.version);
    const { digest } = await this.repo.put(out.module);
    const mod: CompiledModule = { target, moduleDigest: digest, moduleBytes: out.module.length, arenaBytes: out.report.arenaBytes, macs: out.report.macs, compiledAt: Date.now(), report: out.report, compilerVersion: COMPILER_VERSION };
    const fresh = (await this.items.get(id))!;
    fresh.modules[target] = mod;
    await this.items.save(fresh);
    return mod;
  }
}
