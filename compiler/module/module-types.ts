// The in-memory form of a module: exactly what the binary holds (docs/module-format.md), nothing
// more. The emitter writes it, the reader rebuilds it, the runtime executes it.
import type { OpCode } from './opcodes.ts';

export const MODULE_MAGIC = 'TMLM';
export const FORMAT_VERSION = 2;
export const HEADER_BYTES = 128;
export const MAX_RANK = 4;
export const DIGEST_BYTES = 32;

/** Element types a module stores. Activations are int8; constants int8 or int32. */
export type ModuleDType = 'int8' | 'int32';
export const DTYPE_CODES: Readonly<Record<ModuleDType, number>> = { int8: 1, int32: 2 };
export const DTYPE_BYTES: Readonly<Record<ModuleDType, number>> = { int8: 1, int32: 4 };

/** An activation tensor: lives in the arena at `offset`; real = scale * (q - zeroPoint). */
export type ArenaTensor = {
  readonly dtype: 'int8';
  readonly shape: readonly number[];
  readonly scale: number;
  readonly zeroPoint: number;
  readonly offset: number;
  readonly bytes: number;
};

export type ConstantTensor = {
  readonly dtype: ModuleDType;
  readonly shape: readonly number[];
  readonly data: Int8Array | Int32Array;
};

export type ModuleOp = {
  readonly code: OpCode;
  /** arena tensor indices */
  readonly inputs: readonly number[];
  readonly outputs: readonly number[];
  /** constant tensor indices */
  readonly consts: readonly number[];
  /** int32 scalars; meaning per op code in opcodes.ts */
  readonly params: readonly number[];
};

export type ModuleContents = {
  readonly formatVersion: number;
  /** TargetProfile.code, 0 = any target */
  readonly targetCode: number;
  /** the model's full name (metadata section, at most 255 bytes of UTF-8); the header keeps its first 8 bytes */
  readonly name: string;
  /** the model's version as the catalog names it (metadata section, at most 255 bytes of UTF-8); '' when unknown */
  readonly version?: string;
  readonly arenaBytes: number;
  /** multiply-accumulates per inference (informational) */
  readonly macs: number;
  readonly input: number;
  readonly output: number;
  readonly ops: readonly ModuleOp[];
  readonly constants: readonly ConstantTensor[];
  readonly tensors: readonly ArenaTensor[];
};
