// TinyMLaaS compiler CLI.
//
//   npx tsx compiler/cli.ts compile --model x.onnx --target esp32 [--calib dir] [--test-set [dir]]
//                                   [--test-limit N] [--planner greedy|naive] [--psram] [--name n] [--model-version v]
//                                   [--json] -o out/
//   npx tsx compiler/cli.ts select --target nrf52840 [--psram] [--json]
//   npx tsx compiler/cli.ts inspect module.tmlm
//   npx tsx compiler/cli.ts targets
//   npx tsx compiler/cli.ts ops          (the ONNX operators the importer reads and the int8 path compiles)
//
// compile writes out/<name>.tmlm (the module), out/<name>.h (C array) and out/report.json, prints
// the report as text on stdout (as JSON with --json) and progress on stderr.
// --test-set alone uses the Fashion-MNIST test set; with a directory, the one *images* and one
// *labels* IDX file in it. --calib: see compiler/quantize/calibration-set.ts (.npy / IDX files).
// Exit status: 0 ok, 1 usage or compile error, 2 the module does not fit the target.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';
import { compile, formatReport, type CompileProgress } from './compile.ts';
import { readIdxFile } from './data/idx.ts';
import { isCompileError } from './ir/compile-error.ts';
import { ModuleError } from './module/module-error.ts';
import { readModule } from './module/read-module.ts';
import { moduleDigestHex } from './module/emit-module.ts';
import { OP_NAMES } from './module/opcodes.ts';
import { loadFashionMnist, type LabeledSet } from './quantize/calibration-set.ts';
import type { CalibrationMethod } from './quantize/calibrate.ts';
import { targetByCode, targets, TARGET_IDS } from './targets/index.ts';
import { selectModel } from './zoo/select.ts';
import { INT8_OPS } from './quantize/ops/index.ts';
import { SUPPORTED_OPS } from './shape-inference/op-shapes.ts';

const USAGE = `usage:
  compiler/cli.ts compile --model x.onnx --target <${TARGET_IDS.join('|')}> [--calib dir] [--calib-method minmax|percentile[:P]|entropy|auto]
                          [--test-set [dir]] [--test-limit N] [--planner greedy|naive] [--psram] [--name n] [--model-version v] [--json] -o out/
  compiler/cli.ts select --target <id> [--psram] [--json]
  compiler/cli.ts inspect module.tmlm
  compiler/cli.ts targets
  compiler/cli.ts ops`;

class UsageError extends Error {}

/** --calib-method minmax | percentile | percentile:99.9 | entropy | auto (chosen per tensor) */
function parseCalibrationMethod(text: string): CalibrationMethod {
  if (text === 'minmax' || text === 'entropy' || text === 'auto') return { kind: text };
  const m = /^percentile(?::([0-9.]+))?$/.exec(text);
  if (!m) throw new UsageError(`--calib-method must be minmax, percentile[:P], entropy or auto, not '${text}'`);
  const percentile = m[1] === undefined ? undefined : Number(m[1]);
  if (percentile !== undefined && !(percentile > 50 && percentile <= 100)) throw new UsageError('--calib-method percentile:P needs 50 < P <= 100');
  return { kind: 'percentile', percentile };
}

function progressPrinter(): (p: CompileProgress) => void {
  const tty = process.stderr.isTTY === true;
  const t0 = performance.now();
  let last = '';
  return (p) => {
    const elapsed = ((performance.now() - t0) / 1000).toFixed(1).padStart(5);
    if (p.done !== undefined && p.total !== undefined) {
      if (tty) process.stderr.write(`\r[${elapsed}s] ${p.stage} ${p.done}/${p.total}`);
      else if (p.done === p.total) process.stderr.write(`[${elapsed}s] ${p.stage} ${p.done}/${p.total}\n`);
      return;
    }
    if (p.stage === last) return;
    if (tty && last) process.stderr.write('\n');
    process.stderr.write(`[${elapsed}s] ${p.stage}${tty ? '' : '\n'}`);
    last = p.stage;
  };
}

function loadTestSet(dir: string, limit: number | undefined): LabeledSet {
  if (dir === 'fashion-mnist') return loadFashionMnist('test', limit);
  const files = readdirSync(dir).sort();
  const images = files.find((f) => /images/.test(f));
  const labels = files.find((f) => /labels/.test(f));
  if (!images || !labels) throw new UsageError(`--test-set ${dir}: needs one *images* and one *labels* IDX file`);
  const im = readIdxFile(join(dir, images));
  const lb = readIdxFile(join(dir, labels));
  if (im.dtype !== 'uint8' || lb.dtype !== 'uint8' || im.shape[0] !== lb.shape[0]) throw new UsageError(`--test-set ${dir}: uint8 images and labels of equal count expected`);
  const n = Math.min(im.shape[0], limit ?? Infinity);
  const per = im.shape.slice(1).reduce((a, b) => a * b, 1);
  const out: Float32Array[] = [];
  for (let s = 0; s < n; s++) out.push(Float32Array.from(im.data.subarray(s * per, (s + 1) * per), (v) => v / 255));
  return { images: out, labels: lb.data.slice(0, n) };
}

function cmdCompile(argv: string[]): number {
  // --test-set takes an optional directory; parseArgs has no optional values, so spell the default out
  const args = argv.flatMap((a, i) => (a === '--test-set' && (i + 1 === argv.length || argv[i + 1].startsWith('-')) ? ['--test-set=fashion-mnist'] : [a]));
  const { values } = parseArgs({
    args,
    options: {
      model: { type: 'string' },
      target: { type: 'string' },
      calib: { type: 'string' },
      'calib-method': { type: 'string', default: 'minmax' },
      'test-set': { type: 'string' },
      'test-limit': { type: 'string' },
      planner: { type: 'string', default: 'greedy' },
      psram: { type: 'boolean', default: false },
      name: { type: 'string' },
      'model-version': { type: 'string' },
      json: { type: 'boolean', default: false },
      out: { type: 'string', short: 'o' },
    },
    strict: true,
  });
  if (!values.model || !values.target || !values.out) throw new UsageError('compile needs --model, --target and -o');
  if (!targets().has(values.target)) throw new UsageError(`unknown target '${values.target}' (known: ${TARGET_IDS.join(', ')})`);
  if (values.planner !== 'greedy' && values.planner !== 'naive') throw new UsageError('--planner must be greedy or naive');
  const calibrationMethod = parseCalibrationMethod(values['calib-method']);
  const name = values.name ?? basename(values.model).replace(/\.onnx$/, '');
  const onnx = readFileSync(values.model);
  const limit = values['test-limit'] ? Number(values['test-limit']) : undefined;
  if (limit !== undefined && !(Number.isInteger(limit) && limit > 0)) throw new UsageError('--test-limit must be a positive integer');
  const testSet = values['test-set'] !== undefined ? loadTestSet(values['test-set'], limit) : undefined;

  const progress = progressPrinter();
  try {
    const r = compile(onnx, { target: values.target, name, version: values['model-version'], calibrationDir: values.calib, calibrationMethod, testSet, planner: values.planner, allowPsram: values.psram, onProgress: progress });
    process.stderr.write('\n');
    mkdirSync(values.out, { recursive: true });
    writeFileSync(join(values.out, `${name}.tmlm`), r.module);
    writeFileSync(join(values.out, `${name}.h`), r.cHeader);
    writeFileSync(join(values.out, 'report.json'), `${JSON.stringify(r.report, null, 2)}\n`);
    process.stdout.write(values.json ? `${JSON.stringify(r.report, null, 2)}\n` : `${formatReport(r.report)}\n  wrote ${join(values.out, `${name}.tmlm`)}, ${name}.h, report.json\n`);
    return 0;
  } catch (e) {
    process.stderr.write('\n');
    if (isCompileError(e) && e.code === 'TOO_LARGE' && e.details && 'ramOverBy' in e.details) {
      process.stderr.write(`error: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
}

function cmdSelect(argv: string[]): number {
  const { values } = parseArgs({ args: argv, options: { target: { type: 'string' }, psram: { type: 'boolean', default: false }, json: { type: 'boolean', default: false } } });
  if (!values.target) throw new UsageError('select needs --target');
  const s = selectModel(values.target, { allowPsram: values.psram });
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ model: s.model?.name ?? null, fit: s.fit, candidates: s.candidates.map((c) => ({ name: c.model.name, int8Accuracy: c.model.int8?.accuracy, fit: c.fit })) }, null, 2)}\n`);
  } else {
    for (const c of s.candidates) {
      process.stdout.write(`${c === s.candidates.find((x) => x.model === s.model) ? '*' : ' '} ${c.model.name.padEnd(8)} int8 ${((c.model.int8?.accuracy ?? 0) * 100).toFixed(2)}%  ${c.fit.summary}\n`);
    }
    process.stdout.write(s.model ? `selected ${s.model.name} (${s.model.path})\n` : `no zoo model fits ${values.target}\n`);
  }
  return s.model ? 0 : 2;
}

function cmdInspect(argv: string[]): number {
  const file = argv[0];
  if (!file) throw new UsageError('inspect needs a module file');
  const bytes = readFileSync(file);
  const m = readModule(bytes);
  const t = targetByCode(m.targetCode);
  const lines = [
    `${file}: TMLM v${m.formatVersion} '${m.name}'${m.version ? ` version '${m.version}'` : ''} for ${t?.id ?? `target code ${m.targetCode}`}, ${bytes.length} bytes, sha256 ${moduleDigestHex(bytes)}`,
    `  arena ${m.arenaBytes} bytes, ${m.macs} MACs, ${m.ops.length} ops, ${m.constants.length} constants, ${m.tensors.length} tensors`,
    `  input  [${m.tensors[m.input].shape.join(',')}] scale ${m.tensors[m.input].scale} zp ${m.tensors[m.input].zeroPoint}`,
    `  output [${m.tensors[m.output].shape.join(',')}] scale ${m.tensors[m.output].scale} zp ${m.tensors[m.output].zeroPoint}`,
    ...m.ops.map((op, i) => `  ${String(i).padStart(3)} ${OP_NAMES[op.code].padEnd(20)} in ${op.inputs.join(',')} out ${op.outputs.join(',')} @${op.outputs.map((o) => m.tensors[o].offset).join(',')}`),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}

function cmdTargets(): number {
  for (const t of targets().values()) {
    process.stdout.write(`${t.id.padEnd(26)} ${t.cpu} @ ${t.clockMhz} MHz, RAM ${t.ramBytes / 1024} KB${t.psramBytes ? ` (+${t.psramBytes / 1048576} MB PSRAM)` : ''}, flash ${t.flashBytes / 1048576} MB, runtime overhead ${t.runtimeOverhead.ramBytes / 1024} KB RAM / ${t.runtimeOverhead.flashBytes / 1024} KB flash${t.accelerator ? `, ${t.accelerator}` : ''}\n`);
  }
  return 0;
}

function cmdOps(): number {
  const int8 = new Set(INT8_OPS);
  const lines = [
    `int8 (compiled to a module): ${INT8_OPS.join(', ')}`,
    `folded at compile time on static shapes (no op in the module): ${SUPPORTED_OPS.filter((o) => !int8.has(o)).join(', ')}`,
    'every op above also runs in the float reference executor; an op outside this list is refused by the importer,',
    'and a node the int8 path cannot lower is refused before calibration with every such node listed.',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}

function main(argv: string[]): number {
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case 'compile': return cmdCompile(rest);
      case 'select': return cmdSelect(rest);
      case 'inspect': return cmdInspect(rest);
      case 'targets': return cmdTargets();
      case 'ops': return cmdOps();
      case '--help': case '-h': case 'help':
        process.stdout.write(`${USAGE}\n`);
        return 0;
      default: throw new UsageError(cmd ? `unknown command '${cmd}'` : 'no command');
    }
  } catch (e) {
    if (e instanceof UsageError || (e instanceof TypeError && 'code' in e && String(e.code).startsWith('ERR_PARSE_ARGS'))) {
      process.stderr.write(`error: ${e.message}\n${USAGE}\n`);
      return 1;
    }
    if (isCompileError(e) || e instanceof ModuleError) {
      process.stderr.write(`error [${e.code}]: ${e.message}\n`);
      return 1;
    }
    if (e instanceof Error && 'code' in e && (e.code === 'ENOENT' || e.code === 'EACCES' || e.code === 'EISDIR')) {
      process.stderr.write(`error: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}

process.exitCode = main(process.argv.slice(2));
