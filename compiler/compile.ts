// compile(): ONNX bytes + target -> int8 module, C header and report.
//   import (A) -> passes (A) -> calibrate (runFloat, A) -> quantize -> plan memory -> emit -> verify
// Every stage is its own module; this file only composes them (as Leshan's server facade does).
import { importOnnx } from './onnx/import-onnx.ts';
import { runPasses } from './passes/run-passes.ts';
import { CompileError } from './ir/compile-error.ts';
import type { Graph } from './ir/graph.ts';
import { calibrateWithReport, type CalibrationMethod } from './quantize/calibrate.ts';
import { methodLabel } from './quantize/histogram-range.ts';
import type { TensorRangeChoice } from './quantize/per-tensor-choice.ts';
import { defaultCalibrationSet, DEFAULT_CALIBRATION_COUNT, readCalibrationDir, type CalibrationFile, type LabeledSet } from './quantize/calibration-set.ts';

/** a --calib directory is read up to this many samples (min/max calibration saturates long before) */
export const MAX_CALIBRATION_SAMPLES = 2000;
import { evaluateAccuracy, type AccuracyReport } from './quantize/evaluate.ts';
import { quantizeGraph } from './quantize/quantize-graph.ts';
import { assertInt8Lowerable } from './quantize/int8-support.ts';
import type { QuantizedProgram } from './quantize/quantized-program.ts';
import { computeLifetimes, planGreedy, planNaive, planViolations, type MemoryPlan } from './planner/index.ts';
import { ALL_TECHNIQUES, arenaByTechnique, planWithTechniques, type ArenaByTechnique, type MemoryTechniques } from './fusion/memory-techniques.ts';
import { emitModule, moduleDigestHex } from './module/emit-module.ts';
import { emitCHeader } from './module/c-header.ts';
import { FORMAT_VERSION, type ModuleContents } from './module/module-types.ts';
import { OP_NAMES } from './module/opcodes.ts';
import { loadModule } from './runtime/load-module.ts';
import { estimateInferenceMs, fits, getTarget, targets, type FitResult } from './targets/index.ts';

export type CompileProgress = { readonly stage: string; readonly done?: number; readonly total?: number };

export type CompileOptions = {
  /** target id (compiler/targets/*.json) */
  readonly target: string;
  /** model name for the module (full name in its metadata, first 8 bytes in the header) and report; default "model" */
  readonly name?: string;
  /** model version (as the catalog names it), carried in the module's metadata; default '' */
  readonly version?: string;
  /** calibration inputs; default: the first 200 Fashion-MNIST training images */
  readonly calibration?: readonly Float32Array[];
  /** or a directory of .npy / IDX files (quantize/calibration-set.ts), split by the model's input size */
  readonly calibrationDir?: string;
  /** how activation ranges are estimated from the calibration set; default min/max (TFLite's default); 'auto' chooses per tensor */
  readonly calibrationMethod?: CalibrationMethod;
  /** labeled test set: adds float vs int8 accuracy to the report */
  readonly testSet?: LabeledSet;
  /**
   * arena planner; default greedy with the memory techniques. 'naive' (one buffer per tensor, TFLM's
   * LinearMemoryPlanner) plans the unfused program: every intermediate tensor stays in the arena.
   */
  readonly planner?: 'greedy' | 'naive';
  /** the memory techniques of the greedy plan (issue 11 §4); default all */
  readonly memory?: MemoryTechniques;
  /** let the arena use the target's PSRAM */
  readonly allowPsram?: boolean;
  /** throw CompileError TOO_LARGE when the module does not fit the target (default true) */
  readonly requireFit?: boolean;
  readonly onProgress?: (p: CompileProgress) => void;
};

export type OpReport = { readonly index: number; readonly op: string; readonly source: string; readonly macs: number };

export type CompileReport = {
  readonly model: string;
  readonly version: string;
  readonly target: string;
  readonly formatVersion: number;
  readonly onnxBytes: number;
  /** module size = flash needed for the model */
  readonly moduleBytes: number;
  /** moduleBytes / onnxBytes */
  readonly sizeRatio: number;
  /** tensor arena = RAM needed for activations, with the chosen planner */
  readonly arenaBytes: number;
  /** TFLM's greedy plan of the unfused program (no memory techniques) */
  readonly arenaBytesGreedy: number;
  /** the greedy arena with all memory techniques and with all but each one */
  readonly arenaByTechnique: ArenaByTechnique;
  readonly arenaBytesNaive: number;
  readonly planner: 'greedy' | 'naive';
  readonly macs: number;
  readonly ops: readonly OpReport[];
  readonly digest: string;
  readonly calibrationSamples: number;
  readonly calibrationMethod: CalibrationMethod;
  /** 'auto': per activation, the chosen method and each candidate's error on the held-back slice */
  readonly calibrationChoices?: readonly TensorRangeChoice[];
  /** 'auto': samples the candidate ranges came from and samples held back to judge them */
  readonly calibrationSplit?: { readonly fit: number; readonly heldBack: number };
  /** where the calibration samples came from: given by the caller, the default set, or files of a --calib directory */
  readonly calibrationSource: { readonly kind: 'given' | 'default' | 'directory'; readonly files?: readonly CalibrationFile[] };
  readonly accuracy?: AccuracyReport;
  readonly fit: FitResult;
  readonly fitByTarget: readonly FitResult[];
  /** estimated inference time per target (targets/index.ts estimateInferenceMs), ms */
  readonly estimatedMsByTarget: Readonly<Record<string, number>>;
  readonly timingsMs: Readonly<Record<string, number>>;
};

export type CompileResult = {
  readonly module: Uint8Array;
  readonly cHeader: string;
  readonly report: CompileReport;
  readonly contents: ModuleContents;
  /** the graph after passes (the float reference the module is compared with) */
  readonly graph: Graph;
};

/** Lifetimes over the program's op order and both plans. */
export function planProgram(p: QuantizedProgram): { greedy: MemoryPlan; naive: MemoryPlan } {
  const lifetimes = computeLifetimes(
    p.ops.map((op) => ({ reads: op.inputs, writes: op.outputs })),
    p.tensors.map((t) => t.bytes),
    [p.input],
    [p.output],
  );
  const greedy = planGreedy(lifetimes);
  const naive = planNaive(lifetimes);
  for (const plan of [greedy, naive]) {
    const problems = planViolations(lifetimes, plan);
    if (problems.length > 0) throw new Error(`internal: ${plan.planner} plan is invalid: ${problems.join('; ')}`);
  }
  return { greedy, naive };
}

export function assembleModule(p: QuantizedProgram, plan: MemoryPlan, targetCode: number, name: string, version = ''): ModuleContents {
  return {
    formatVersion: FORMAT_VERSION,
    targetCode,
    name,
    version,
    arenaBytes: plan.arenaBytes,
    macs: p.macs,
    input: p.input,
    output: p.output,
    ops: p.ops,
    constants: p.constants,
    tensors: p.tensors.map((t, i) => ({ dtype: t.dtype, shape: t.shape, scale: t.scale, zeroPoint: t.zeroPoint, bytes: t.bytes, offset: plan.offsets[i] })),
  };
}

export function compile(onnx: Uint8Array, opts: CompileOptions): CompileResult {
  const target = getTarget(opts.target);
  const name = opts.name ?? 'model';
  const progress = opts.onProgress ?? (() => {});
  const timings: Record<string, number> = {};
  const timed = <T>(stage: string, f: () => T): T => {
    progress({ stage });
    const t0 = performance.now();
    const r = f();
    timings[stage] = Math.round((performance.now() - t0) * 10) / 10;
    return r;
  };

  const graph = timed('import', () => runPasses(importOnnx(onnx)));
  // refused before calibration: every offending node at once (issue 11 §1)
  assertInt8Lowerable(graph);
  const inputElements = graph.inputs[0]?.shape.reduce((a, b) => a * b, 1) ?? 0;
  let calibrationSource: CompileReport['calibrationSource'] = { kind: opts.calibration ? 'given' : 'default' };
  const calib = timed('load calibration set', () => {
    if (opts.calibration) return opts.calibration;
    if (!opts.calibrationDir) return defaultCalibrationSet(DEFAULT_CALIBRATION_COUNT);
    const d = readCalibrationDir(opts.calibrationDir, inputElements, MAX_CALIBRATION_SAMPLES);
    calibrationSource = { kind: 'directory', files: d.files };
    return d.samples;
  });
  const calibration = timed('calibrate', () =>
    calibrateWithReport(graph, calib, (done) => { if (done % 50 === 0 || done === calib.length) progress({ stage: 'calibrate', done, total: calib.length }); }, opts.calibrationMethod),
  );
  const unfused = timed('quantize', () => quantizeGraph(graph, calibration.ranges));
  const plannerName = opts.planner ?? 'greedy';
  const { plans, techniques, chosen } = timed('plan memory', () => {
    const plans = planProgram(unfused);
    const techniques = arenaByTechnique(unfused);
    const chosen = plannerName === 'greedy' ? planWithTechniques(unfused, opts.memory ?? ALL_TECHNIQUES) : { program: unfused, plan: plans.naive };
    return { plans, techniques, chosen };
  });
  const { program, plan } = chosen;
  const contents = assembleModule(program, plan, target.code, name, opts.version ?? '');
  const module = timed('emit', () => emitModule(contents));
  // Read our own output back through the device-side verifier before anyone else does.
  const loaded = timed('verify', () => loadModule(module));
  const digest = moduleDigestHex(module);
  const cHeader = emitCHeader(module, { modelName: name, modelVersion: opts.version ?? '', comment: `${name}${opts.version ? ` ${opts.version}` : ''} for ${target.id} (${target.name}), arena ${plan.arenaBytes} bytes, ${program.macs} MACs` });

  const footprint = { moduleBytes: module.length, arenaBytes: plan.arenaBytes };
  const fit = fits(footprint, target, { allowPsram: opts.allowPsram });
  const failing = !fit.fits && opts.requireFit !== false;

  let accuracy: AccuracyReport | undefined;
  if (opts.testSet && !failing) {
    const set = opts.testSet;
    accuracy = timed('evaluate', () => evaluateAccuracy(graph, loaded, set, (done, total) => progress({ stage: 'evaluate', done, total })));
  }
  const report: CompileReport = {
    model: name,
    version: opts.version ?? '',
    target: target.id,
    formatVersion: FORMAT_VERSION,
    onnxBytes: onnx.length,
    moduleBytes: module.length,
    sizeRatio: module.length / onnx.length,
    arenaBytes: plan.arenaBytes,
    arenaBytesGreedy: plans.greedy.arenaBytes,
    arenaByTechnique: techniques,
    arenaBytesNaive: plans.naive.arenaBytes,
    planner: plannerName,
    macs: program.macs,
    ops: program.ops.map((op, i) => ({ index: i, op: OP_NAMES[op.code], source: program.opSources[i], macs: program.opMacs[i] })),
    digest,
    calibrationSamples: calib.length,
    calibrationMethod: opts.calibrationMethod ?? { kind: 'minmax' },
    calibrationChoices: calibration.choices,
    calibrationSplit: calibration.fitSamples === undefined ? undefined : { fit: calibration.fitSamples, heldBack: calibration.heldBackSamples ?? 0 },
    calibrationSource,
    accuracy,
    fit,
    fitByTarget: [...targets().values()].map((t) => fits(footprint, t, { allowPsram: opts.allowPsram })),
    estimatedMsByTarget: Object.fromEntries([...targets().values()].map((t) => [t.id, Math.round(estimateInferenceMs(program.macs, t) * 1000) / 1000])),
    timingsMs: timings,
  };
  if (failing) {
    throw new CompileError('TOO_LARGE', `${name} does not fit ${target.id}: ${fit.problems.join('; ')}`, { ramOverBy: fit.ramOverBy, flashOverBy: fit.flashOverBy, report });
  }
  return { module, cHeader, report, contents, graph };
}

/** The report as text, for the CLI and logs. */
export function formatReport(r: CompileReport): string {
  const kb = (n: number): string => `${n} B (${(n / 1024).toFixed(1)} KB)`;
  const lines = [
    `model ${r.model}${r.version ? ` ${r.version}` : ''} -> ${r.target} (module format v${r.formatVersion})`,
    `  flash: module ${kb(r.moduleBytes)} = ${(r.sizeRatio * 100).toFixed(1)}% of the ${kb(r.onnxBytes)} float ONNX`,
    `  RAM:   arena ${kb(r.arenaBytes)} (${r.planner}; greedy ${r.arenaBytesGreedy}, naive ${r.arenaBytesNaive}; memory techniques: all ${r.arenaByTechnique.all}, ` +
      `without in-place ${r.arenaByTechnique.withoutInPlace}, without conv+pool ${r.arenaByTechnique.withoutConvPool}, without conv+add ${r.arenaByTechnique.withoutConvAdd})`,
    `  compute: ${r.macs.toLocaleString('en-US')} MACs/inference, ${r.ops.length} ops`,
    `  sha256: ${r.digest}`,
    `  calibration: ${methodLabel(r.calibrationMethod)} over ${r.calibrationSamples} samples (${r.calibrationSource.kind === 'directory' ? (r.calibrationSource.files ?? []).map((f) => `${f.file}: ${f.samples}`).join(', ') : r.calibrationSource.kind === 'default' ? 'default: Fashion-MNIST training images' : 'given by the caller'})`,
  ];
  lines.push(...formatCalibrationChoices(r));
  if (r.accuracy) {
    const a = r.accuracy;
    lines.push(`  accuracy on ${a.samples}: float ${(a.float * 100).toFixed(2)}%, int8 ${(a.int8 * 100).toFixed(2)}% (${((a.int8 - a.float) * 100).toFixed(2)} points), agreement ${(a.agreement * 100).toFixed(2)}%`);
  }
  lines.push('  fit:');
  for (const f of r.fitByTarget) {
    const ms = r.estimatedMsByTarget[f.target];
    lines.push(`    ${f.target === r.target ? '*' : ' '} ${f.target.padEnd(26)} ~${ms.toFixed(2)} ms/inference (est.)  ${f.summary}`);
  }
  return lines.join('\n');
}

/** 'auto' calibration: one line per activation with the chosen method and every candidate's held-back error. */
function formatCalibrationChoices(r: CompileReport): string[] {
  if (!r.calibrationChoices) return [];
  const split = r.calibrationSplit;
  const lines = [`  per-tensor ranges (estimated on ${split?.fit ?? 0} samples, judged by int8 MSE on ${split?.heldBack ?? 0} held back; * = chosen):`];
  for (const c of r.calibrationChoices) {
    const cells = c.candidates.map((k) => `${k.method === c.chosen ? '*' : ' '}${k.method} ${k.mse.toExponential(2)}`);
    lines.push(`    ${c.tensor}: ${c.chosen} [${c.range.min.toPrecision(4)}, ${c.range.max.toPrecision(4)}]${cells.length > 0 ? `  ${cells.join('  ')}` : '  (nothing held back: min/max)'}`);
  }
  return lines;
}
