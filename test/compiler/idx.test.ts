import { existsSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { parseIdx, readIdxFile, sampleAsFloat32 } from '../../compiler/data/idx.ts';
import { CompileError } from '../../compiler/ir/compile-error.ts';

const FASHION = '/usr/share/datasets/fashion-mnist';

describe('IDX reader', () => {
  it('parses uint8 and big-endian int32 arrays, gzipped or not', () => {
    const u8 = Uint8Array.from([0, 0, 0x08, 2, 0, 0, 0, 2, 0, 0, 0, 3, 1, 2, 3, 4, 5, 255]);
    for (const bytes of [u8, gzipSync(u8)]) {
      const a = parseIdx(bytes);
      expect(a.dtype).toBe('uint8');
      expect(a.shape).toEqual([2, 3]);
      expect([...a.data]).toEqual([1, 2, 3, 4, 5, 255]);
      expect([...sampleAsFloat32(a, 1)]).toEqual([4 / 255, 5 / 255, 1].map(Math.fround));
    }
    const i32 = parseIdx(Uint8Array.from([0, 0, 0x0c, 1, 0, 0, 0, 2, 0xff, 0xff, 0xff, 0xfe, 0, 0, 1, 0]));
    expect([...i32.data]).toEqual([-2, 256]);
  });

  it('rejects bad magic, unknown types and truncated data with BAD_DATA', () => {
    for (const bad of [[1, 2, 3, 4], [0, 0, 0x07, 1, 0, 0, 0, 1, 0], [0, 0, 0x08, 1, 0, 0, 0, 5, 1, 2], [0, 0, 0x08, 2, 0, 0]]) {
      expect(() => parseIdx(Uint8Array.from(bad))).toThrow(CompileError);
    }
    expect(() => parseIdx(Uint8Array.from([0x1f, 0x8b, 0, 0]))).toThrow(/gzip/);
  });

  it('reads the Fashion-MNIST test set: 10,000 images 28x28 and labels 0..9', () => {
    const images = readIdxFile(`${FASHION}/t10k-images-idx3-ubyte.gz`);
    const labels = readIdxFile(`${FASHION}/t10k-labels-idx1-ubyte.gz`);
    expect(images.shape).toEqual([10000, 28, 28]);
    expect(labels.shape).toEqual([10000]);
    expect(Math.max(...labels.data)).toBe(9);
    const img = sampleAsFloat32(images, 0);
    expect(img.length).toBe(784);
    expect(Math.max(...img)).toBeLessThanOrEqual(1);
  });
});
