// The error int8 quantization with a given range causes on float values: each value is quantized
// exactly as the int8 path quantizes an activation (quant-params.ts: asymmetric, 0 exact, clamped
// to [-128, 127]) and dequantized; the squared differences are summed. Clipping and rounding error
// are thus weighed together, which is what choosing a clipping range trades off.
import type { Range } from './calibrate.ts';
import { activationQuant } from './quant-params.ts';

/** A running sum of squared quantization errors for one candidate range. */
export type ErrorSum = { readonly range: Range; readonly scale: number; readonly zeroPoint: number; sum: number; count: number };

export function newErrorSum(range: Range): ErrorSum {
  const q = activationQuant(range.min, range.max);
  return { range, scale: q.scale, zeroPoint: q.zeroPoint, sum: 0, count: 0 };
}

export function addQuantizationError(e: ErrorSum, data: Float32Array): void {
  const { scale, zeroPoint } = e;
  const inv = 1 / scale;
  let sum = 0;
  for (let i = 0; i < data.length; i++) {
    const x = data[i];
    let q = Math.round(x * inv) + zeroPoint;
    if (q < -128) q = -128;
    else if (q > 127) q = 127;
    const d = (q - zeroPoint) * scale - x;
    sum += d * d;
  }
  e.sum += sum;
  e.count += data.length;
}

export function meanSquaredError(e: ErrorSum): number {
  return e.count === 0 ? 0 : e.sum / e.count;
}
