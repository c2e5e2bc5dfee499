// Conv and pooling kernels are written once for three spatial dims (D, H, W); 1-D and 2-D inputs
// are run as 3-D with leading dims of size 1, kernel 1, stride 1 and no padding.
import type { WindowGeometry } from '../shape-inference/window-geometry.ts';

export type Spatial3 = {
  readonly inp: [number, number, number];
  readonly out: [number, number, number];
  readonly k: [number, number, number];
  readonly s: [number, number, number];
  readonly d: [number, number, number];
  readonly pb: [number, number, number];
  readonly pe: [number, number, number];
};

function to3(v: readonly number[], fill: number): [number, number, number] {
  const r = [...new Array<number>(3 - v.length).fill(fill), ...v];
  return [r[0], r[1], r[2]];
}

export function spatial3(inSpatial: readonly number[], g: WindowGeometry): Spatial3 {
  return {
    inp: to3(inSpatial, 1),
    out: to3(g.out, 1),
    k: to3(g.kernel, 1),
    s: to3(g.strides, 1),
    d: to3(g.dilations, 1),
    pb: to3(g.padBegin, 0),
    pe: to3(g.padEnd, 0),
  };
}
