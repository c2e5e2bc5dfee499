// Operator codes of the module format and the layout of each op's int32 parameter list.
// docs/module-format.md §4 is the prose version of this table; keep both in step.

export const OpCode = {
  CONV_2D: 1,
  DEPTHWISE_CONV_2D: 2,
  FULLY_CONNECTED: 3,
  ADD: 4,
  MUL: 5,
  MAX_POOL_2D: 6,
  AVERAGE_POOL_2D: 7,
  GLOBAL_AVERAGE_POOL: 8,
  SOFTMAX: 9,
  CLAMP: 10,
  LUT: 11,
  CONCATENATION: 12,
  TRANSPOSE: 13,
  CONV_POOL_2D: 14,
  CONV_ADD: 15,
} as const;

/** fixed scalar params before the per-channel requant words (CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED) */
export const CONV_FIXED_PARAMS = 13;
export const FC_FIXED_PARAMS = 4;
/** CONV_POOL_2D: poolKind convH convW, the 12 pool params, then the 13 conv params (requant words follow) */
export const CONV_POOL_CONV_AT = 15;
export const CONV_POOL_FIXED_PARAMS = CONV_POOL_CONV_AT + CONV_FIXED_PARAMS;
/** CONV_ADD: convSide, the 12 ADD params after the layout word, then the 13 conv params (requant words follow) */
export const CONV_ADD_CONV_AT = 13;
export const CONV_ADD_FIXED_PARAMS = CONV_ADD_CONV_AT + CONV_FIXED_PARAMS;
export type OpCode = (typeof OpCode)[keyof typeof OpCode];

export const OP_NAMES: Readonly<Record<OpCode, string>> = {
  1: 'CONV_2D',
  2: 'DEPTHWISE_CONV_2D',
  3: 'FULLY_CONNECTED',
  4: 'ADD',
  5: 'MUL',
  6: 'MAX_POOL_2D',
  7: 'AVERAGE_POOL_2D',
  8: 'GLOBAL_AVERAGE_POOL',
  9: 'SOFTMAX',
  10: 'CLAMP',
  11: 'LUT',
  12: 'CONCATENATION',
  13: 'TRANSPOSE',
  14: 'CONV_POOL_2D',
  15: 'CONV_ADD',
};

export function isOpCode(n: number): n is OpCode {
  return Object.prototype.hasOwnProperty.call(OP_NAMES, n);
}

/**
 * Operand and parameter counts per op: [inputs, outputs, consts, params]; -1 = depends on the op
 * (checked by the reader). The reader rejects an op whose counts differ, so a kernel can index its
 * lists without further checks.
 */
export const OP_ARITY: Readonly<Record<OpCode, readonly [number, number, number, number]>> = {
  // consts: weights int8 OIHW, bias int32[C]
  // params: strideH strideW padTop padLeft padBottom padRight dilationH dilationW inZp outZp actMin actMax groups,
  //         then C multipliers and ceil(C/4) packed shifts (requant-params.ts); -1 = 13 + that.
  //         CONV_2D: weights [Cout, Cin/groups, kh, kw]; DEPTHWISE_CONV_2D: groups = Cin
  1: [1, 1, 2, -1],
  2: [1, 1, 2, -1],
  // consts: weights int8 [out,in], bias int32[out]; params: inZp outZp actMin actMax + per-channel requant
  3: [1, 1, 2, -1],
  // ADD/MUL operand layout (params[0]): 0 = two activations, 1 = (activation, const), 2 = (const, activation).
  // ADD params: layout aZp bZp outZp leftShift aMult aShift bMult bShift outMult outShift actMin actMax
  4: [-1, 1, -1, 13],
  // MUL params: layout aZp bZp outZp outMult outShift actMin actMax
  5: [-1, 1, -1, 8],
  // pools params: kernelH kernelW strideH strideW padTop padLeft padBottom padRight ceilMode countIncludePad actMin actMax
  // (declared ONNX padding; with ceilMode a last window may overhang the end padding and is clipped)
  6: [1, 1, 0, 12],
  7: [1, 1, 0, 12],
  // params: inZp outZp multiplier shift
  8: [1, 1, 0, 4],
  // TFLM integer softmax (gemmlowp fixed-point exp, no table); output scale 1/256, zero point -128
  // params: inputMultiplier inputLeftShift diffMin outZp depth (the innermost `depth` elements are one row)
  9: [1, 1, 0, 5],
  // params: inZp outZp multiplier shift actMin actMax
  10: [1, 1, 0, 6],
  // consts: int8 tables [channels, 256]; params: channels inner. y[i] = table[(i / inner) % channels][x[i] + 128]
  11: [1, 1, 1, 2],
  // inputs 1..255; params: outZp outer, then 4 per input: block inZp multiplier shift (block = axis length x inner)
  12: [-1, 1, 0, -1],
  // params: rank perm0..perm3 (unused entries = their index) dim0..dim3 (the input read as this shape, unused 1);
  // output shares the input quantization
  13: [1, 1, 0, 9],
  // a convolution (any groups) whose output only a MAX/AVERAGE pool reads, fused so the convolution's
  // output is never resident (compiler/fusion/fuse-conv-pool.ts); consts as CONV_2D;
  // params: poolKind (0 max, 1 average) convH convW (the convolution's output size), the 12 pool params
  // of MAX_POOL_2D, then the CONV_2D params with their requant words
  14: [1, 1, 2, -1],
  // a convolution whose output is only one operand of an ADD with a same-shape activation (a residual),
  // fused so the convolution's output is never resident (compiler/fusion/fuse-conv-add.ts); inputs:
  // conv input, residual; consts as CONV_2D; params: convSide (0: conv is ADD's a, 1: its b), the 12
  // ADD params after the layout word, then the CONV_2D params with their requant words
  15: [2, 1, 2, -1],
};
