// Where calibration (and test) inputs come from.
//
//   default:     the first 200 images of the Fashion-MNIST training set (IDX, gzip), as pixel / 255 —
//                the zoo models' preprocessing — from Debian's dataset-fashion-mnist package, or from
//                the sample the repository ships (compiler/data/fashion-mnist-sample/) when the
//                package is absent and the sample holds enough images;
//   --calib dir: the *.npy and IDX files (*-ubyte, *.idx, optionally .gz) in the directory, in name
//                order, never the evaluation split (readCalibrationDir). A file holding k * (input elements) values gives k samples. Integer data
//                (uint8 / int8) is scaled by 1/255; float data is used as is. Rank-1 IDX files
//                (labels) are skipped, so a dataset directory can be given as it is.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseIdx, readIdxFile } from '../data/idx.ts';
import { CompileError } from '../ir/compile-error.ts';
import { parseNpy } from './npy.ts';

export const DEFAULT_CALIBRATION_COUNT = 200;

/** Fashion-MNIST location; TINYMLAAS_FASHION_MNIST overrides it. */
export function fashionMnistDir(): string {
  return process.env.TINYMLAAS_FASHION_MNIST ?? '/usr/share/datasets/fashion-mnist';
}

/** The shipped sample: the first 200 training and 200 test images (scripts/make-fashion-sample.ts). */
export const FASHION_MNIST_SAMPLE_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'data', 'fashion-mnist-sample');
export const SAMPLE_TEST_COUNT = 200;
const SAMPLE_COUNTS = { train: DEFAULT_CALIBRATION_COUNT, test: SAMPLE_TEST_COUNT } as const;

/**
 * The directory to read `count` images of a split from: the full dataset when installed, else the
 * shipped sample when it holds that many; otherwise an error that says what to install. A test of
 * accuracy on the whole test set therefore never runs silently on the sample.
 */
export function fashionMnistSource(split: 'train' | 'test', count = Infinity): string {
  const full = fashionMnistDir();
  const prefix = split === 'train' ? 'train' : 't10k';
  if (existsSync(join(full, `${prefix}-images-idx3-ubyte.gz`))) return full;
  if (count <= SAMPLE_COUNTS[split]) return FASHION_MNIST_SAMPLE_DIR;
  throw new CompileError('BAD_DATA', `Fashion-MNIST ${split} set (${Number.isFinite(count) ? count : 'all'} images) is not installed at ${full}: ` +
    `apt-get install dataset-fashion-mnist (the shipped sample has ${SAMPLE_COUNTS[split]})`);
}

export type LabeledSet = { readonly images: readonly Float32Array[]; readonly labels: Uint8Array };

function toSamples(data: ArrayLike<number>, isInteger: boolean, elements: number, what: string): Float32Array[] {
  if (data.length % elements !== 0) {
    throw new CompileError('BAD_DATA', `${what}: ${data.length} values is not a multiple of the model input size ${elements}`);
  }
  const scale = isInteger ? 1 / 255 : 1;
  const out: Float32Array[] = [];
  for (let s = 0; s < data.length / elements; s++) {
    const x = new Float32Array(elements);
    for (let i = 0; i < elements; i++) x[i] = data[s * elements + i] * scale;
    out.push(x);
  }
  return out;
}

/** The Fashion-MNIST split as float images (pixel / 255) and labels; `limit` takes the first N. */
export function loadFashionMnist(split: 'train' | 'test', limit?: number): LabeledSet {
  const prefix = split === 'train' ? 'train' : 't10k';
  const dir = fashionMnistSource(split, limit);
  const images = readIdxFile(join(dir, `${prefix}-images-idx3-ubyte.gz`));
  const labels = readIdxFile(join(dir, `${prefix}-labels-idx1-ubyte.gz`));
  if (images.dtype !== 'uint8' || labels.dtype !== 'uint8') throw new CompileError('BAD_DATA', 'Fashion-MNIST files must be uint8 IDX');
  const n = Math.min(images.shape[0], limit ?? Infinity);
  const per = images.shape.slice(1).reduce((a, b) => a * b, 1);
  return { images: toSamples(images.data.subarray(0, n * per), true, per, 'Fashion-MNIST'), labels: labels.data.slice(0, n) };
}

const defaultSets = new Map<number, readonly Float32Array[]>();

/** The default calibration set (memoized per process: inflating the 26 MB training file takes a while). */
export function defaultCalibrationSet(count = DEFAULT_CALIBRATION_COUNT): Float32Array[] {
  let set = defaultSets.get(count);
  if (!set) {
    set = loadFashionMnist('train', count).images;
    defaultSets.set(count, set);
  }
  return [...set];
}

/** A file name that says it holds evaluation data (Fashion-MNIST's t10k-*, *test*, *val*, *eval*). */
export const EVALUATION_FILE = /(^|[^a-z])(t10k|test|val|valid|validation|eval|evaluation)([^a-z]|$)/i;
const TRAINING_FILE = /train/i;

export type CalibrationFile = { readonly file: string; readonly samples: number };
export type CalibrationDir = { readonly samples: Float32Array[]; readonly files: readonly CalibrationFile[] };

/**
 * Reads a --calib directory (see header comment); `elements` is the model's input element count.
 * Calibration must never see the evaluation set: when some files' names say "train" only those are
 * read; otherwise files named like an evaluation split (t10k, test, val, eval) are left out, and a
 * directory holding nothing else is refused. The result names the files and how many samples each gave.
 */
export function readCalibrationDir(dir: string, elements: number, limit = Infinity): CalibrationDir {
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch (e) {
    throw new CompileError('BAD_DATA', `calibration directory ${dir}: ${(e as Error).message}`);
  }
  const data = names.filter((n) => {
    const base = n.replace(/\.gz$/, '');
    return (base.endsWith('.npy') || /-ubyte$|\.idx$/.test(base)) && statSync(join(dir, n)).isFile();
  });
  const training = data.filter((n) => TRAINING_FILE.test(n));
  const chosen = training.length > 0 ? training : data.filter((n) => !EVALUATION_FILE.test(n));
  if (data.length > 0 && chosen.length === 0) {
    throw new CompileError('BAD_DATA', `calibration directory ${dir} holds only evaluation files (${data.join(', ')}): calibrating on the test split would overstate the accuracy; give a directory with training data`);
  }
  const samples: Float32Array[] = [];
  const files: CalibrationFile[] = [];
  for (const name of chosen) {
    const path = join(dir, name);
    const before = samples.length;
    const base = name.replace(/\.gz$/, '');
    if (base.endsWith('.npy')) {
      const a = parseNpy(readFileSync(path), path);
      samples.push(...toSamples(a.data, a.data instanceof Uint8Array || a.data instanceof Int8Array, elements, path));
    } else {
      const a = parseIdx(readFileSync(path));
      if (a.shape.length < 2) continue; // a label file (one value per sample), not inputs
      const take = Math.min(a.data.length, (limit - samples.length) * elements);
      samples.push(...toSamples(a.data.subarray(0, take), a.dtype !== 'float32' && a.dtype !== 'float64', elements, path));
    }
    files.push({ file: name, samples: Math.min(samples.length, limit) - before });
    if (samples.length >= limit) break;
  }
  if (samples.length === 0) throw new CompileError('BAD_DATA', `calibration directory ${dir} holds no .npy or IDX samples`);
  return { samples: samples.slice(0, limit), files };
}

export function loadCalibrationDir(dir: string, elements: number, limit = Infinity): Float32Array[] {
  return readCalibrationDir(dir, elements, limit).samples;
}
