// The quantizer's output: a module's contents before memory planning (no arena offsets yet).
import type { ArenaTensor, ConstantTensor, ModuleOp } from '../module/module-types.ts';

export type ProgramTensor = Omit<ArenaTensor, 'offset'> & { readonly name: string };

export type QuantizedProgram = {
  readonly tensors: readonly ProgramTensor[];
  readonly constants: readonly ConstantTensor[];
  readonly ops: readonly ModuleOp[];
  /** the ONNX node each op came from, for reports and error messages */
  readonly opSources: readonly string[];
  /** MACs per op */
  readonly opMacs: readonly number[];
  readonly input: number;
  readonly output: number;
  readonly macs: number;
};
