// Sliding-window geometry shared by Conv, MaxPool and AveragePool: output spatial size and the
// begin/end padding actually applied, from kernel_shape, strides, dilations, pads, auto_pad and
// ceil_mode (ONNX Operators.md, Conv-11 / MaxPool-12 / AveragePool-11).
import { attrInt, attrInts, attrString } from '../ir/attrs.ts';
import { CompileError } from '../ir/compile-error.ts';
import type { Node } from '../ir/graph.ts';

export type WindowGeometry = {
  readonly kernel: readonly number[];
  readonly strides: readonly number[];
  readonly dilations: readonly number[];
  readonly padBegin: readonly number[];
  readonly padEnd: readonly number[];
  readonly out: readonly number[];
};

function listAttr(node: Node, name: string, n: number, dflt: number): number[] {
  const v = attrInts(node, name);
  if (v === undefined) return new Array<number>(n).fill(dflt);
  if (v.length !== n) throw new CompileError('BAD_MODEL', `${node.op} node '${node.name}': ${name} has ${v.length} values, expected ${n}`);
  return [...v];
}

/**
 * @param inSpatial the input's spatial dims (everything after N, C)
 * @param kernel the kernel's spatial dims
 * @param allowCeil whether ceil_mode is honoured (pools) or ignored (Conv has no ceil_mode)
 */
export function windowGeometry(node: Node, inSpatial: readonly number[], kernel: readonly number[], allowCeil: boolean): WindowGeometry {
  const n = inSpatial.length;
  const what = `${node.op} node '${node.name}'`;
  const strides = listAttr(node, 'strides', n, 1);
  const dilations = listAttr(node, 'dilations', n, 1);
  if (kernel.length !== n) throw new CompileError('SHAPE_MISMATCH', `${what}: kernel has ${kernel.length} spatial dims, input has ${n}`);
  for (const [k, label] of [[kernel, 'kernel_shape'], [strides, 'strides'], [dilations, 'dilations']] as const) {
    if (k.some((v) => v < 1)) throw new CompileError('BAD_MODEL', `${what}: ${label} values must be >= 1, got [${k.join(',')}]`);
  }
  const autoPad = attrString(node, 'auto_pad', 'NOTSET');
  const ceil = allowCeil && attrInt(node, 'ceil_mode', 0) !== 0;
  const padBegin = new Array<number>(n).fill(0);
  const padEnd = new Array<number>(n).fill(0);
  const out = new Array<number>(n);
  if (autoPad === 'NOTSET') {
    const pads = attrInts(node, 'pads');
    if (pads !== undefined) {
      if (pads.length !== 2 * n) throw new CompileError('BAD_MODEL', `${what}: pads has ${pads.length} values, expected ${2 * n}`);
      if (pads.some((p) => p < 0)) throw new CompileError('BAD_MODEL', `${what}: pads must be >= 0, got [${pads.join(',')}]`);
      for (let i = 0; i < n; i++) {
        padBegin[i] = pads[i];
        padEnd[i] = pads[i + n];
      }
    }
  } else if (autoPad !== 'VALID' && autoPad !== 'SAME_UPPER' && autoPad !== 'SAME_LOWER') {
    throw new CompileError('BAD_MODEL', `${what}: auto_pad '${autoPad}' is not one of NOTSET, VALID, SAME_UPPER, SAME_LOWER`);
  } else if (attrInts(node, 'pads') !== undefined) {
    // Operators.md (Conv, pools): "pads ... cannot be used simultaneously with auto_pad"
    throw new CompileError('BAD_MODEL', `${what}: has both auto_pad '${autoPad}' and pads; use one or the other`);
  }
  for (let i = 0; i < n; i++) {
    const ek = (kernel[i] - 1) * dilations[i] + 1; // effective (dilated) kernel extent
    const s = strides[i];
    if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
      out[i] = Math.ceil(inSpatial[i] / s);
      const total = Math.max(0, (out[i] - 1) * s + ek - inSpatial[i]);
      const small = Math.floor(total / 2);
      padBegin[i] = autoPad === 'SAME_UPPER' ? small : total - small;
      padEnd[i] = total - padBegin[i];
    } else {
      const span = inSpatial[i] + padBegin[i] + padEnd[i] - ek;
      if (span < 0) {
        throw new CompileError('SHAPE_MISMATCH', `${what}: kernel extent ${ek} exceeds padded input ${inSpatial[i] + padBegin[i] + padEnd[i]} in spatial dim ${i}`);
      }
      out[i] = (ceil ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
      // With ceil_mode a last window that would start inside the end padding is dropped
      // (the rule PyTorch and onnxruntime apply, written into the ONNX pool docs since opset 19).
      if (ceil && (out[i] - 1) * s >= inSpatial[i] + padBegin[i]) out[i]--;
    }
  }
  return { kernel, strides, dilations, padBegin, padEnd, out };
}
