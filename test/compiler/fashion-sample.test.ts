import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { FASHION_MNIST_SAMPLE_DIR, fashionMnistDir, fashionMnistSource, loadFashionMnist } from '../../compiler/quantize/calibration-set.ts';

describe('the shipped Fashion-MNIST sample', () => {
  it('holds the first 200 training and test images of the Debian package, byte for byte', () => {
    for (const prefix of ['train', 't10k']) {
      const sample = gunzipSync(readFileSync(join(FASHION_MNIST_SAMPLE_DIR, `${prefix}-images-idx3-ubyte.gz`)));
      const full = gunzipSync(readFileSync(join(fashionMnistDir(), `${prefix}-images-idx3-ubyte.gz`)));
      // IDX header written by hand: magic 0x00000803, then 200, 28, 28 as big-endian uint32
      expect(sample.subarray(0, 16).toString('hex')).toBe('00000803' + '000000c8' + '0000001c' + '0000001c');
      expect(sample.length).toBe(16 + 200 * 784);
      expect(sample.subarray(16).equals(full.subarray(16, 16 + 200 * 784))).toBe(true);
      const labels = gunzipSync(readFileSync(join(FASHION_MNIST_SAMPLE_DIR, `${prefix}-labels-idx1-ubyte.gz`)));
      const fullLabels = gunzipSync(readFileSync(join(fashionMnistDir(), `${prefix}-labels-idx1-ubyte.gz`)));
      expect(labels.subarray(0, 8).toString('hex')).toBe('00000801000000c8');
      expect(labels.subarray(8).equals(fullLabels.subarray(8, 208))).toBe(true);
    }
  });

  it('is used when the package is absent and it holds enough images; otherwise the error names the package', () => {
    const empty = mkdtempSync(join(tmpdir(), 'no-fashion-'));
    const saved = process.env.TINYMLAAS_FASHION_MNIST;
    process.env.TINYMLAAS_FASHION_MNIST = empty;
    try {
      expect(fashionMnistSource('train', 200)).toBe(FASHION_MNIST_SAMPLE_DIR);
      const test = loadFashionMnist('test', 50);
      expect(test.images).toHaveLength(50);
      expect(test.labels[0]).toBe(9); // the first Fashion-MNIST test image is an ankle boot (class 9)
      expect(() => loadFashionMnist('test')).toThrow(/apt-get install dataset-fashion-mnist/);
      expect(() => fashionMnistSource('train', 201)).toThrow(/not installed/);
    } finally {
      if (saved === undefined) delete process.env.TINYMLAAS_FASHION_MNIST;
      else process.env.TINYMLAAS_FASHION_MNIST = saved;
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
