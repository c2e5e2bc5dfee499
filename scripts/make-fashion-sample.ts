// Writes the small labelled Fashion-MNIST sample the repository ships (compiler/data/fashion-mnist-sample/)
// from Debian's dataset-fashion-mnist package, so the demo and the default calibration run on a machine
// where only `npm install` has run. Usage: npx tsx scripts/make-fashion-sample.ts [--dataset dir]
//
// The sample is the first TRAIN_COUNT training images (exactly the default calibration set, so a
// model compiled from the sample is the one compiled from the full package) and the first TEST_COUNT
// test images (what the demo's devices classify), each with its labels, as gzip'd IDX files.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { readIdxFile } from '../compiler/data/idx.ts';
import { DEFAULT_CALIBRATION_COUNT, FASHION_MNIST_SAMPLE_DIR, SAMPLE_TEST_COUNT } from '../compiler/quantize/calibration-set.ts';

const { values } = parseArgs({ options: { dataset: { type: 'string', default: '/usr/share/datasets/fashion-mnist' } } });

function idxBytes(shape: readonly number[], data: Uint8Array): Buffer {
  // IDX header: 0, 0, type 0x08 (unsigned byte), rank; then each dim as a big-endian uint32
  const header = Buffer.alloc(4 + 4 * shape.length);
  header[2] = 0x08;
  header[3] = shape.length;
  shape.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([header, data]);
}

mkdirSync(FASHION_MNIST_SAMPLE_DIR, { recursive: true });
for (const [prefix, count] of [['train', DEFAULT_CALIBRATION_COUNT], ['t10k', SAMPLE_TEST_COUNT]] as const) {
  const images = readIdxFile(join(values.dataset!, `${prefix}-images-idx3-ubyte.gz`));
  const labels = readIdxFile(join(values.dataset!, `${prefix}-labels-idx1-ubyte.gz`));
  if (images.dtype !== 'uint8' || labels.dtype !== 'uint8') throw new Error('Fashion-MNIST files must be uint8 IDX');
  const per = images.shape[1] * images.shape[2];
  // mtime 0 in the gzip header: the same input writes the same bytes
  const write = (name: string, bytes: Buffer): void => writeFileSync(join(FASHION_MNIST_SAMPLE_DIR, name), gzipSync(bytes, { level: 9 }));
  write(`${prefix}-images-idx3-ubyte.gz`, idxBytes([count, images.shape[1], images.shape[2]], images.data.subarray(0, count * per)));
  write(`${prefix}-labels-idx1-ubyte.gz`, idxBytes([count], labels.data.subarray(0, count)));
  process.stdout.write(`${prefix}: ${count} images and labels\n`);
}
