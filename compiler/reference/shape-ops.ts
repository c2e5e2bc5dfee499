// Shape, Gather, Squeeze and Unsqueeze (any element type). Squeeze/Unsqueeze move no data.
import { attrInt } from '../ir/attrs.ts';
import { allocData, intValues, normAxis, sizeOf } from '../ir/tensor.ts';
import { axesOf, gatherShape, padAmounts, shapeSlice, squeezeShape, unsqueezeShape } from '../shape-inference/shape-ops.ts';
import type { Kernel } from './kernel.ts';
import { input } from './kernel.ts';
import { CompileError } from '../ir/compile-error.ts';

export const shape: Kernel = (node, inputs) => {
  const dims = shapeSlice(node, input(node, inputs, 0).shape);
  return [{ dtype: 'int64', shape: [dims.length], data: BigInt64Array.from(dims.map((d) => BigInt(d))) }];
};

export const gather: Kernel = (node, inputs) => {
  const data = input(node, inputs, 0);
  const idx = input(node, inputs, 1);
  const what = `Gather node '${node.name}'`;
  const axis = normAxis(attrInt(node, 'axis', 0), data.shape.length, what);
  const outShape = gatherShape(node, data.shape, idx.shape);
  const outer = sizeOf(data.shape.slice(0, axis));
  const inner = sizeOf(data.shape.slice(axis + 1));
  const n = data.shape[axis];
  const indices = intValues(idx.data, what).map((i) => {
    if (i < -n || i >= n) throw new CompileError('SHAPE_MISMATCH', `${what}: index ${i} out of range for axis of ${n}`);
    return i < 0 ? i + n : i;
  });
  const out = allocData(data.dtype, sizeOf(outShape));
  const src = data.data as unknown as { subarray(a: number, b: number): ArrayLike<number | bigint> }; // same element type as out
  const dst = out as unknown as { set(s: ArrayLike<number | bigint>, at: number): void };
  let at = 0;
  for (let o = 0; o < outer; o++) {
    for (const i of indices) {
      dst.set(src.subarray((o * n + i) * inner, (o * n + i + 1) * inner), at);
      at += inner;
    }
  }
  return [{ dtype: data.dtype, shape: outShape, data: out }];
};

export const squeeze: Kernel = (node, inputs, opset) => {
  const x = input(node, inputs, 0);
  const axes = axesOf(node, opset, (name) => (name === node.inputs[1] && inputs[1] ? { name, ...inputs[1] } : undefined));
  return [{ dtype: x.dtype, shape: squeezeShape(node, x.shape, axes), data: x.data }];
};

export const unsqueeze: Kernel = (node, inputs, opset) => {
  const x = input(node, inputs, 0);
  const axes = axesOf(node, opset, (name) => (name === node.inputs[1] && inputs[1] ? { name, ...inputs[1] } : undefined));
  return [{ dtype: x.dtype, shape: unsqueezeShape(node, x.shape, axes), data: x.data }];
};

/** Pad (constant mode): the input placed at offset `begin` inside a tensor filled with constant_value. */
export const pad: Kernel = (node, inputs) => {
  const x = input(node, inputs, 0);
  const r = x.shape.length;
  const consts = (name: string): ReturnType<typeof input> & { name: string } | undefined => {
    const i = node.inputs.indexOf(name);
    return i >= 0 && inputs[i] ? { name, ...(inputs[i] as ReturnType<typeof input>) } : undefined;
  };
  const pads = padAmounts(node, r, consts);
  const outShape = x.shape.map((d, i) => d + pads[i] + pads[i + r]);
  const value = inputs[2] ? Number((inputs[2].data as Float32Array)[0]) : 0;
  const y = new Float32Array(sizeOf(outShape)).fill(value);
  const xd = x.data as Float32Array;
  // copy row by row (last dimension contiguous)
  const inner = r === 0 ? 1 : x.shape[r - 1];
  const rows = inner === 0 ? 0 : xd.length / inner;
  const idx = new Array<number>(Math.max(0, r - 1)).fill(0);
  const outStrides = outShape.map((_, i) => sizeOf(outShape.slice(i + 1)));
  for (let row = 0; row < rows; row++) {
    let at = r === 0 ? 0 : pads[r - 1];
    for (let d = 0; d < r - 1; d++) at += (idx[d] + pads[d]) * outStrides[d];
    y.set(xd.subarray(row * inner, (row + 1) * inner), at);
    for (let d = r - 2; d >= 0; d--) {
      if (++idx[d] < x.shape[d]) break;
      idx[d] = 0;
    }
  }
  return [{ dtype: 'float32', shape: outShape, data: y }];
};
