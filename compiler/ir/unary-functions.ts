// Elementwise unary operators as plain functions of one real number (ONNX Operators.md semantics,
// opsets 11-17). One table serves three stages: the float reference kernel maps it over a tensor,
// shape inference treats the op as shape-preserving, and the int8 back end tabulates it over the
// 256 input codes (a LUT op, TFLM's approach for Sigmoid/Tanh/HardSwish).
import { attrFloat } from './attrs.ts';
import type { Node } from './graph.ts';

export type UnaryFunction = (x: number) => number;

type UnarySpec = {
  /** float attributes the op defines, with their defaults */
  readonly attrs: Readonly<Record<string, number>>;
  readonly make: (a: Readonly<Record<string, number>>) => UnaryFunction;
  /** the first opset that defines the op, when later than 11 */
  readonly since?: number;
  /** fixed int8 output quantization (TFLM's choice for bounded outputs); otherwise calibrated */
  readonly outputQuant?: { readonly scale: number; readonly zeroPoint: number };
};

/** Abramowitz-Stegun 7.1.26 is too coarse for a reference; this is erf via its continued series (|err| < 1e-15). */
function erf(x: number): number {
  const ax = Math.abs(x);
  if (ax > 6) return Math.sign(x);
  // Taylor series converges quickly for |x| <= 6 in float64
  let sum = ax;
  let term = ax;
  const x2 = ax * ax;
  for (let n = 1; n < 200; n++) {
    term *= -x2 / n;
    const add = term / (2 * n + 1);
    sum += add;
    if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
  }
  // the alternating series loses precision above ~3: use the complementary continued fraction there
  if (ax > 3) {
    let f = 0;
    for (let k = 60; k >= 1; k--) f = (k / 2) / (ax + f);
    const erfc = Math.exp(-x2) / Math.sqrt(Math.PI) / (ax + f);
    return Math.sign(x) * (1 - erfc);
  }
  return Math.sign(x) * ((2 / Math.sqrt(Math.PI)) * sum);
}

/** ONNX Round: half to even (numpy.round). */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

export const UNARY_FUNCTIONS: Readonly<Record<string, UnarySpec>> = {
  Sigmoid: { attrs: {}, make: () => (x) => 1 / (1 + Math.exp(-x)), outputQuant: { scale: 1 / 256, zeroPoint: -128 } },
  Tanh: { attrs: {}, make: () => Math.tanh, outputQuant: { scale: 1 / 128, zeroPoint: 0 } },
  LeakyRelu: { attrs: { alpha: 0.01 }, make: ({ alpha }) => (x) => (x >= 0 ? x : alpha * x) },
  HardSigmoid: { attrs: { alpha: 0.2, beta: 0.5 }, make: ({ alpha, beta }) => (x) => Math.max(0, Math.min(1, alpha * x + beta)) },
  HardSwish: { attrs: {}, since: 14, make: () => (x) => x * Math.max(0, Math.min(1, x / 6 + 0.5)) },
  Elu: { attrs: { alpha: 1 }, make: ({ alpha }) => (x) => (x >= 0 ? x : alpha * (Math.exp(x) - 1)) },
  Selu: {
    attrs: { alpha: 1.67326319217681884765625, gamma: 1.05070102214813232421875 },
    make: ({ alpha, gamma }) => (x) => (x > 0 ? gamma * x : gamma * (alpha * Math.exp(x) - alpha)),
  },
  Celu: { attrs: { alpha: 1 }, since: 12, make: ({ alpha }) => (x) => Math.max(0, x) + Math.min(0, alpha * (Math.exp(x / alpha) - 1)) },
  ThresholdedRelu: { attrs: { alpha: 1 }, make: ({ alpha }) => (x) => (x > alpha ? x : 0) },
  Softsign: { attrs: {}, make: () => (x) => x / (1 + Math.abs(x)) },
  Softplus: { attrs: {}, make: () => (x) => (x > 30 ? x : Math.log1p(Math.exp(x))) },
  Neg: { attrs: {}, make: () => (x) => -x },
  Abs: { attrs: {}, make: () => Math.abs },
  Exp: { attrs: {}, make: () => Math.exp },
  Erf: { attrs: {}, make: () => erf },
  Sin: { attrs: {}, make: () => Math.sin },
  Cos: { attrs: {}, make: () => Math.cos },
  Atan: { attrs: {}, make: () => Math.atan },
  Floor: { attrs: {}, make: () => Math.floor },
  Ceil: { attrs: {}, make: () => Math.ceil },
  Round: { attrs: {}, make: () => roundHalfEven },
  Sign: { attrs: {}, make: () => (x) => (x > 0 ? 1 : x < 0 ? -1 : 0) },
};

export function isUnaryOp(op: string): boolean {
  return Object.prototype.hasOwnProperty.call(UNARY_FUNCTIONS, op);
}

/** The node's function with its attributes applied. */
export function unaryFunction(node: Node): UnaryFunction {
  const spec = UNARY_FUNCTIONS[node.op];
  const a: Record<string, number> = {};
  for (const [k, d] of Object.entries(spec.attrs)) a[k] = attrFloat(node, k, d);
  return spec.make(a);
}
