// Choosing quantization parameters (TFLite Micro int8 scheme, tensorflow/lite/tools/optimize):
//   activations: asymmetric per tensor, int8 [-128, 127], real 0 exactly representable;
//   weights:     symmetric per output channel, int8 [-127, 127], zero point 0;
//   biases:      int32, scale = input_scale * weight_scale[c], zero point 0.

export type TensorQuant = { readonly scale: number; readonly zeroPoint: number };

/**
 * std::round semantics (half away from zero), which TFLite uses; Math.round rounds half up.
 * Quantized values are integers, and an integer has no sign of zero: `+ 0` turns the -0 that
 * `-Math.round(0.3)` yields into 0, so an int8 tensor never holds -0.
 */
export function roundHalfAway(x: number): number {
  return (x < 0 ? -Math.round(-x) : Math.round(x)) + 0;
}

/** Asymmetric int8 parameters covering [min, max] (widened to include 0), zero point nudged to an integer. */
export function activationQuant(min: number, max: number): TensorQuant {
  let lo = Math.min(0, min);
  let hi = Math.max(0, max);
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) throw new RangeError(`cannot quantize range [${min}, ${max}]`);
  if (hi - lo < 1e-8) { lo = 0; hi = 1e-8 * 255; } // an all-zero tensor: any scale represents it
  const scale = (hi - lo) / 255;
  const zeroPoint = Math.max(-128, Math.min(127, roundHalfAway(-128 - lo / scale)));
  return { scale, zeroPoint };
}

/** q = clamp(round(x / scale) + zp): a real bound (e.g. a fused ReLU6's 6) expressed in the int8 domain. */
export function quantizeValue(x: number, q: TensorQuant): number {
  if (x === Infinity) return 127;
  if (x === -Infinity) return -128;
  return Math.max(-128, Math.min(127, roundHalfAway(x / q.scale) + q.zeroPoint));
}

export type PerChannelWeights = { readonly data: Int8Array; readonly scales: Float64Array };

/**
 * Symmetric per-channel quantization along axis 0 (the output channel of OIHW conv weights and of
 * [out, in] dense weights): scale_c = max|w_c| / 127.
 */
export function quantizeWeightsPerChannel(w: Float32Array, channels: number): PerChannelWeights {
  if (w.length % channels !== 0) throw new RangeError(`${w.length} weights do not split into ${channels} channels`);
  const per = w.length / channels;
  const data = new Int8Array(w.length);
  const scales = new Float64Array(channels);
  for (let c = 0; c < channels; c++) {
    let absMax = 0;
    for (let i = c * per; i < (c + 1) * per; i++) absMax = Math.max(absMax, Math.abs(w[i]));
    const scale = absMax > 0 ? absMax / 127 : 1;
    scales[c] = scale;
    for (let i = c * per; i < (c + 1) * per; i++) data[i] = Math.max(-127, Math.min(127, roundHalfAway(w[i] / scale)));
  }
  return { data, scales };
}

/** int32 bias with scale input_scale * weight_scale[c]. */
export function quantizeBias(bias: Float32Array | undefined, channels: number, inputScale: number, weightScales: Float64Array): Int32Array {
  const out = new Int32Array(channels);
  if (!bias) return out;
  for (let c = 0; c < channels; c++) {
    const q = roundHalfAway(bias[c] / (inputScale * weightScales[c]));
    out[c] = Math.max(-2147483648, Math.min(2147483647, q));
  }
  return out;
}
