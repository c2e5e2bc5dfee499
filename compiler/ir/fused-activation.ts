// The fused-activation attributes that compiler/passes/fuse-activation.ts writes onto Conv, Gemm and
// MatMul nodes, and that the float kernels and the int8 back end honour (TFLite Micro's
// `fused_activation_function`, expressed as a clamp range).
//
//   activation: 'relu'  -> y = max(x, 0)
//               'relu6' -> y = min(max(x, 0), 6)       (from Clip(min=0, max=6))
//               'clip'  -> y = min(max(x, activation_min), activation_max)   (any other constant Clip)
//   activation_min / activation_max: numbers, present only for 'clip'.
//
// A node without an `activation` attribute has no fused activation.
import { CompileError } from './compile-error.ts';
import type { Node } from './graph.ts';

export type FusedActivation =
  | { readonly kind: 'none' }
  | { readonly kind: 'relu' }
  | { readonly kind: 'relu6' }
  | { readonly kind: 'clip'; readonly min: number; readonly max: number };

export function readFusedActivation(node: Node): FusedActivation {
  const a = node.attrs['activation'];
  if (a === undefined) return { kind: 'none' };
  if (a === 'relu' || a === 'relu6') return { kind: a };
  if (a === 'clip') {
    const min = node.attrs['activation_min'];
    const max = node.attrs['activation_max'];
    if (typeof min === 'number' && typeof max === 'number') return { kind: 'clip', min, max };
  }
  throw new CompileError('BAD_MODEL', `${node.op} node '${node.name}' has an invalid fused activation ${JSON.stringify(a)}`);
}

/** The clamp range [lo, hi] of a fused activation (infinite bounds when unbounded). */
export function activationRange(act: FusedActivation): [number, number] {
  switch (act.kind) {
    case 'none': return [-Infinity, Infinity];
    case 'relu': return [0, Infinity];
    case 'relu6': return [0, 6];
    case 'clip': return [act.min, act.max];
  }
}

/** Applies a fused activation in place. */
export function applyFusedActivation(data: Float32Array, act: FusedActivation): void {
  if (act.kind === 'none') return;
  const [lo, hi] = activationRange(act);
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    data[i] = v < lo ? lo : v > hi ? hi : v;
  }
}
