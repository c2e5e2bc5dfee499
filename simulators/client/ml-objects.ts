// The ML extension objects of a simulated device (objects/32001-ml-model.xml, 32002-ml-inference.xml):
// one ML Model instance per installed inference module, kept in "flash" across reboots, and the
// single ML Inference instance that runs the active model through the module runtime.
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { loadModule, type DeviceProfile as RuntimeProfile, type InvokeResult, type LoadedModule } from '../../compiler/runtime/index.ts';
import { estimateInferenceMs, type TargetProfile } from '../../compiler/targets/index.ts';
import { Code } from '../../src/coap/message.ts';
import type { ObjectLink } from '../../src/lwm2m/node.ts';
import type { PackageInfo } from './module-package.ts';
import { DeviceError, type ObjectStore, type ResourceData } from './object-store.ts';
import { xorshift32 } from './seeded-random.ts';

export const ML_MODEL = 32001;
export const ML_INFERENCE = 32002;
const INFERENCE_INSTANCE = 0;

/** 32001 resource 9 State */
export const ModelState = { INSTALLED: 0, ACTIVE: 1, FAILED: 2 } as const;

const NO_LINK: ObjectLink = { objectId: 65535, instanceId: 65535 }; // 32002/7 "65535:65535 when none"

let zooLabels: readonly string[] | undefined;
/** The zoo's class names (compiler/zoo/models/manifest.json), used for modules with 10 outputs. */
function labelsFor(outputShape: readonly number[]): readonly string[] | undefined {
  const classes = outputShape[outputShape.length - 1];
  if (classes !== 10) return undefined;
  if (!zooLabels) {
    const manifest = JSON.parse(readFileSync(new URL('../../compiler/zoo/models/manifest.json', import.meta.url), 'utf8')) as { labels?: string[] };
    zooLabels = manifest.labels ?? [];
  }
  return zooLabels.length === classes ? zooLabels : undefined;
}

type InstalledModel = {
  readonly id: number;
  /** the module bytes as stored in flash (a test may damage them) */
  bytes: Uint8Array;
  readonly info: PackageInfo;
  readonly source: ObjectLink | undefined;
  loaded: LoadedModule | undefined;
};

export type InferenceResult = {
  readonly classIndex: number;
  readonly label: string;
  readonly confidence: number;
  readonly latencyMs: number;
  readonly output: Float32Array;
};

/**
 * The device's cycle model (compiler/targets: MACs per cycle and clock): a simulated inference
 * reports the latency the device would take, not the host's, so latency thresholds mean something.
 */
export type CycleModel = Pick<TargetProfile, 'clockMhz' | 'macsPerCycle'>;

/** ±2 % run-to-run jitter from a fixed-seed xorshift32: repeatable, and a p95 differs from a mean. */
function jitter(seed: number): () => number {
  const next = xorshift32(seed);
  return () => 1 + 0.04 * (next() - 0.5);
}

export type ActivationOutcome = { readonly ok: true } | { readonly ok: false; readonly message: string };

/** Tells the update objects when the active model changes (Object 9 Activation State follows it). */
export type ActiveModelListener = (active: { id: number; source: ObjectLink | undefined } | undefined) => void;

export class MlObjects {
  private readonly models = new Map<number, InstalledModel>();
  private active: InstalledModel | undefined;
  private input: Uint8Array = new Uint8Array();
  private readonly listeners = new Set<ActiveModelListener>();
  private readonly moduleListeners = new Set<() => void>();
  private readonly noise = jitter(0x1e16);

  constructor(
    private readonly store: ObjectStore,
    /** the device's target profile; undefined skips the footprint and target checks */
    private readonly profile: RuntimeProfile | undefined,
    /** latency follows this cycle model; undefined reports the host's wall time */
    private readonly cycle?: CycleModel,
  ) {
    store.setInstance(ML_INFERENCE, INFERENCE_INSTANCE, { 0: '', 1: 0, 2: 0, 3: 0, 4: 0, 5: new Uint8Array(), 7: NO_LINK, 8: -1 });
    store.defineObject(ML_MODEL);
    store.onWrite(ML_INFERENCE, 5, (_i, value) => {
      if (!(value instanceof Uint8Array)) throw new DeviceError(Code.BAD_REQUEST, 'Input is opaque');
      this.input = value;
    });
    store.onExecute(ML_INFERENCE, 6, () => {
      this.runInput();
    });
    store.onExecute(ML_MODEL, 10, (id) => {
      this.activate(id); // a failed activation is reported in State and Last Error, not in the Execute's code
    });
    store.onExecute(ML_MODEL, 11, (id) => this.deactivate(id));
    // models come and go with software and firmware updates, not with Create and Delete
    store.onCreate(ML_MODEL, () => {
      throw new DeviceError(Code.METHOD_NOT_ALLOWED, 'ML Model instances are created by installing a module (Objects 9 and 5)');
    });
    store.onCreate(ML_INFERENCE, () => {
      throw new DeviceError(Code.METHOD_NOT_ALLOWED, 'ML Inference has one instance');
    });
    store.onDelete(ML_MODEL, () => {
      throw new DeviceError(Code.METHOD_NOT_ALLOWED, 'uninstall the software (9/x/6) to remove a model');
    });
    store.onDelete(ML_INFERENCE, () => {
      throw new DeviceError(Code.METHOD_NOT_ALLOWED, 'ML Inference cannot be deleted');
    });
  }

  onActiveChange(l: ActiveModelListener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  /** Called whenever a module is installed or removed (the runtime's free flash follows). */
  onModulesChange(l: () => void): () => void {
    this.moduleListeners.add(l);
    return () => this.moduleListeners.delete(l);
  }

  get activeModelId(): number | undefined {
    return this.active?.id;
  }

  modelIds(): number[] {
    return [...this.models.keys()].sort((a, b) => a - b);
  }

  /** Flash taken by installed modules (other than `except`). */
  flashUsed(except?: number): number {
    let n = 0;
    for (const m of this.models.values()) if (m.id !== except) n += m.bytes.length;
    return n;
  }

  /** Installs a verified module as a new ML Model instance in State 0; returns its instance id. */
  install(bytes: Uint8Array, info: PackageInfo, loaded: LoadedModule, source: ObjectLink | undefined): number {
    let id = 0;
    while (this.models.has(id)) id++;
    const labels = labelsFor(loaded.outputShape);
    const dims = (shape: readonly number[]): Map<number, number> => new Map(shape.map((d, i) => [i, d]));
    // The module's metadata carries the model's full name and catalog version (module format v2
    // §5.1); the package check only knows the header's short name and a digest prefix.
    const name = loaded.contents.name || info.name;
    const version = loaded.contents.version || info.version;
    const values: Record<number, ResourceData> = {
      0: name, 1: version, 2: info.sha256, 3: info.target, 4: bytes.length, 5: loaded.contents.arenaBytes,
      6: dims(loaded.inputShape), 7: dims(loaded.outputShape), 9: ModelState.INSTALLED, 13: '',
    };
    if (labels) values[8] = new Map(labels.map((l, i) => [i, l]));
    if (source) values[12] = source;
    if (info.signerKeyId) values[14] = info.signerKeyId;
    this.store.setInstance(ML_MODEL, id, values);
    this.models.set(id, { id, bytes: new Uint8Array(bytes), info, source, loaded: undefined });
    for (const l of this.moduleListeners) l();
    return id;
  }

  /** Removes a model; when it was the active one no model is active afterwards. */
  remove(id: number): void {
    const m = this.models.get(id);
    if (!m) return;
    if (this.active === m) this.setActive(undefined);
    this.models.delete(id);
    this.store.removeInstance(ML_MODEL, id);
    for (const l of this.moduleListeners) l();
  }

  /** Model instance ids delivered by one update object instance (e.g. 5:0 or 9:1). */
  modelsFrom(source: ObjectLink): number[] {
    return [...this.models.values()].filter((m) => m.source?.objectId === source.objectId && m.source.instanceId === source.instanceId).map((m) => m.id);
  }

  /**
   * Makes a model the active one. The module is loaded from flash and checked again (digest, target,
   * footprint); when that fails the model goes to State 2 with Last Error and the model that was
   * active stays active (rollback).
   */
  activate(id: number): ActivationOutcome {
    const m = this.models.get(id);
    if (!m) throw new DeviceError(Code.NOT_FOUND, `no ML Model ${id}`);
    if (this.active === m && m.loaded) return { ok: true };
    try {
      m.loaded = loadModule(m.bytes, this.profile);
    } catch (e) {
      m.loaded = undefined;
      const message = (e as Error).message.slice(0, 255);
      this.store.set([ML_MODEL, id, 13], message);
      this.store.set([ML_MODEL, id, 9], ModelState.FAILED);
      return { ok: false, message };
    }
    this.store.set([ML_MODEL, id, 13], '');
    this.setActive(m);
    return { ok: true };
  }

  /** Stops using a model; deactivating a model that is not active changes nothing. */
  deactivate(id: number): void {
    const m = this.models.get(id);
    if (!m) throw new DeviceError(Code.NOT_FOUND, `no ML Model ${id}`);
    if (this.active === m) this.setActive(undefined);
  }

  private setActive(m: InstalledModel | undefined): void {
    const prev = this.active;
    if (prev && prev !== m) {
      prev.loaded = undefined; // its arena is freed
      if (this.models.has(prev.id)) this.store.set([ML_MODEL, prev.id, 9], ModelState.INSTALLED);
    }
    this.active = m;
    if (m) this.store.set([ML_MODEL, m.id, 9], ModelState.ACTIVE);
    this.store.set([ML_INFERENCE, INFERENCE_INSTANCE, 7], m ? { objectId: ML_MODEL, instanceId: m.id } : NO_LINK);
    for (const l of this.listeners) l(m ? { id: m.id, source: m.source } : undefined);
  }

  /** Test hook: damages the stored module (flash corruption after install). */
  corruptModel(id: number, byteOffset = 200): void {
    const m = this.models.get(id);
    if (!m) throw new Error(`no ML Model ${id}`);
    m.bytes[byteOffset % m.bytes.length] ^= 0xff;
  }

  /** Boot: RAM is gone (last result, Input and the counters since boot); the active model is loaded again from flash. */
  boot(): void {
    const reset: [number, string | number][] = [[0, ''], [1, 0], [2, 0], [3, 0], [4, 0], [8, -1]];
    for (const [r, v] of reset) this.store.set([ML_INFERENCE, INFERENCE_INSTANCE, r], v);
    this.input = new Uint8Array();
    const m = this.active;
    if (!m) return;
    m.loaded = undefined;
    try {
      m.loaded = loadModule(m.bytes, this.profile);
    } catch (e) {
      this.store.set([ML_MODEL, m.id, 13], (e as Error).message.slice(0, 255));
      this.store.set([ML_MODEL, m.id, 9], ModelState.FAILED);
      this.active = undefined;
      this.store.set([ML_INFERENCE, INFERENCE_INSTANCE, 7], NO_LINK);
      for (const l of this.listeners) l(undefined);
    }
  }

  /** Runs the active model on a float sample (the demo's path; Run (6) does the same with Input). */
  infer(sample: Float32Array): InferenceResult {
    return this.run(sample);
  }

  private runInput(): void {
    const m = this.active;
    if (!m?.loaded) {
      this.countError();
      throw new DeviceError(Code.METHOD_NOT_ALLOWED, 'no model is active');
    }
    const n = m.loaded.inputShape.reduce((a, b) => a * b, 1);
    let input: Int8Array | Float32Array;
    if (this.input.length === n) {
      input = new Int8Array(this.input.buffer, this.input.byteOffset, n).slice();
    } else if (this.input.length === 4 * n) {
      const dv = new DataView(this.input.buffer, this.input.byteOffset, this.input.byteLength);
      input = Float32Array.from({ length: n }, (_, i) => dv.getFloat32(4 * i, true));
    } else {
      this.countError();
      throw new DeviceError(Code.BAD_REQUEST, `Input has ${this.input.length} bytes; the model takes ${n} int8 values (${n} bytes) or float32 (${4 * n} bytes)`);
    }
    this.run(input);
  }

  private run(input: Int8Array | Float32Array): InferenceResult {
    const m = this.active;
    if (!m?.loaded) {
      this.countError();
      throw new DeviceError(Code.METHOD_NOT_ALLOWED, 'no model is active');
    }
    const t0 = performance.now();
    let r: InvokeResult;
    try {
      r = m.loaded.invoke(input);
    } catch (e) {
      this.countError();
      throw new DeviceError(Code.BAD_REQUEST, (e as Error).message);
    }
    const latencyMs = this.cycle ? estimateInferenceMs(m.loaded.contents.macs, this.cycle) * this.noise() : performance.now() - t0;
    const labels = labelsFor(m.loaded.outputShape);
    const label = labels?.[r.label] ?? String(r.label);
    const p = [ML_INFERENCE, INFERENCE_INSTANCE];
    this.store.set([...p, 0], label);
    this.store.set([...p, 1], r.confidence);
    this.store.set([...p, 2], latencyMs);
    this.store.set([...p, 8], r.label);
    this.store.set([...p, 9], Math.floor(Date.now() / 1000));
    this.store.set([...p, 3], ((this.store.get([...p, 3]) as number | undefined) ?? 0) + 1);
    return { classIndex: r.label, label, confidence: r.confidence, latencyMs, output: r.dequantized };
  }

  private countError(): void {
    const p = [ML_INFERENCE, INFERENCE_INSTANCE, 4];
    this.store.set(p, ((this.store.get(p) as number | undefined) ?? 0) + 1);
  }
}
