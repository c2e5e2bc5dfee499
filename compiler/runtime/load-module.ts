// loadModule: what a device does with a module it received — verify it (magic, version, bounds,
// SHA-256), check that arena + firmware overhead fit its RAM and module + firmware its flash, carve
// the arena, prepare the kernels. invoke() is integer-only between the input and output edges;
// quantizing a float input and dequantizing the output are the only float steps, at the edges.
import { fits, type FootprintReport, type TargetProfile } from '../targets/index.ts';
import { ModuleError } from '../module/module-error.ts';
import type { ArenaTensor, ModuleContents } from '../module/module-types.ts';
import { OpCode } from '../module/opcodes.ts';
import { moduleDigestHex } from '../module/emit-module.ts';
import { readModule } from '../module/read-module.ts';
import { createInterpreter } from './interpreter.ts';
import { stripSignatureBlock } from '../module/signed-package.ts';

/** The part of a target profile the loader needs (a simulator may pass a trimmed profile). */
export type DeviceProfile = Pick<TargetProfile, 'id' | 'code' | 'ramBytes' | 'psramBytes' | 'flashBytes' | 'runtimeOverhead'>;

export type LoadOptions = {
  /** allow the arena in PSRAM (when the profile has some) */
  readonly allowPsram?: boolean;
  /** accept a module compiled for another target (code mismatch); default false */
  readonly anyTarget?: boolean;
  /**
   * caller-provided tensor arena (TFLM's tensor_arena); only its first arenaBytes are used.
   * Default: a fresh ArrayBuffer of exactly arenaBytes.
   */
  readonly arena?: Uint8Array;
};

export type InvokeResult = {
  /** raw int8 output tensor (a copy) */
  readonly output: Int8Array;
  /** output dequantized: scale * (q - zeroPoint) */
  readonly dequantized: Float32Array;
  /** argmax of the output */
  readonly label: number;
  /** probability of `label`: the dequantized softmax output when the model ends in SOFTMAX, else softmax of the dequantized logits */
  readonly confidence: number;
};

export type LoadedModule = {
  readonly contents: ModuleContents;
  readonly digest: string;
  readonly inputShape: readonly number[];
  readonly inputQuant: { readonly scale: number; readonly zeroPoint: number };
  readonly outputShape: readonly number[];
  readonly outputQuant: { readonly scale: number; readonly zeroPoint: number };
  /** the arena region, exactly contents.arenaBytes long */
  readonly arena: Uint8Array;
  readonly invoke: (input: Int8Array | Float32Array) => InvokeResult;
  /** float -> int8 with the input tensor's quantization (round half away from zero, saturate) */
  readonly quantizeInput: (input: Float32Array) => Int8Array;
};

export function quantizeTo(t: Pick<ArenaTensor, 'scale' | 'zeroPoint'>, x: Float32Array, out: Int8Array = new Int8Array(x.length)): Int8Array {
  for (let i = 0; i < x.length; i++) {
    const r = x[i] / t.scale;
    const q = (r < 0 ? -Math.round(-r) : Math.round(r)) + t.zeroPoint; // half away from zero, as TFLite
    out[i] = q < -128 ? -128 : q > 127 ? 127 : q;
  }
  return out;
}

/**
 * Verifies and prepares a module. With a device `profile`, also checks the target code and that
 * arena + runtime overhead fit its RAM and module + runtime overhead its flash.
 * @throws ModuleError (BAD_MAGIC, BAD_VERSION, TRUNCATED, BAD_DIGEST, OUT_OF_BOUNDS, BAD_OP, WRONG_TARGET, DOES_NOT_FIT)
 */
export function loadModule(signedOrPlain: Uint8Array, profile?: DeviceProfile, opts: LoadOptions = {}): LoadedModule {
  // a signed package carries a trailing signature block (compiler/module/signed-package.ts): the module is what precedes it
  const bytes = stripSignatureBlock(signedOrPlain);
  const m = readModule(bytes);
  if (profile) {
    if (!opts.anyTarget && m.targetCode !== 0 && m.targetCode !== profile.code) {
      throw new ModuleError('WRONG_TARGET', `module was compiled for target code ${m.targetCode}, device ${profile.id} is ${profile.code}`);
    }
    const footprint: FootprintReport = { moduleBytes: bytes.length, arenaBytes: m.arenaBytes };
    const fit = fits(footprint, profile, { allowPsram: opts.allowPsram });
    if (!fit.fits) throw new ModuleError('DOES_NOT_FIT', `module does not fit ${profile.id}: ${fit.problems.join('; ')}`, { ...fit });
  }
  let arena: Uint8Array;
  if (opts.arena) {
    if (opts.arena.length < m.arenaBytes) {
      throw new ModuleError('DOES_NOT_FIT', `arena of ${opts.arena.length} bytes given, module needs ${m.arenaBytes}`);
    }
    arena = opts.arena.subarray(0, m.arenaBytes);
  } else {
    arena = new Uint8Array(new ArrayBuffer(m.arenaBytes));
  }
  const interp = createInterpreter(m, arena);
  const inT = m.tensors[m.input];
  const outT = m.tensors[m.output];
  const endsInSoftmax = m.ops.some((op) => op.code === OpCode.SOFTMAX && op.outputs[0] === m.output);

  const invoke = (input: Int8Array | Float32Array): InvokeResult => {
    if (input.length !== inT.bytes) {
      throw new ModuleError('BAD_INPUT', `input has ${input.length} elements, model expects ${inT.bytes} ([${inT.shape.join(',')}])`);
    }
    if (input instanceof Float32Array) quantizeTo(inT, input, interp.input);
    else interp.input.set(input);
    interp.run();
    const output = interp.output.slice();
    const dequantized = new Float32Array(output.length);
    let label = 0;
    for (let i = 0; i < output.length; i++) {
      dequantized[i] = outT.scale * (output[i] - outT.zeroPoint);
      if (output[i] > output[label]) label = i;
    }
    let confidence: number;
    if (endsInSoftmax) {
      confidence = dequantized[label];
    } else {
      let sum = 0;
      for (const v of dequantized) sum += Math.exp(v - dequantized[label]);
      confidence = 1 / sum;
    }
    return { output, dequantized, label, confidence };
  };

  return {
    contents: m,
    digest: moduleDigestHex(bytes),
    inputShape: inT.shape,
    inputQuant: { scale: inT.scale, zeroPoint: inT.zeroPoint },
    outputShape: outT.shape,
    outputQuant: { scale: outT.scale, zeroPoint: outT.zeroPoint },
    arena,
    invoke,
    quantizeInput: (x) => quantizeTo(inT, x),
  };
}
