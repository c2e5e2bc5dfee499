// Why a module was refused. Codes let a device simulator map a refusal onto an LwM2M update result
// (e.g. BAD_DIGEST -> "integrity check failure", DOES_NOT_FIT -> "not enough flash/RAM").

export type ModuleErrorCode =
  | 'BAD_MAGIC'
  | 'BAD_VERSION'
  | 'TRUNCATED'
  | 'BAD_DIGEST'
  | 'OUT_OF_BOUNDS' // a section, tensor, constant or operand reference outside its range
  | 'BAD_OP' // unknown op code, wrong operand counts, inconsistent shapes
  | 'WRONG_TARGET'
  | 'DOES_NOT_FIT'
  | 'BAD_INPUT'; // invoke() given an input of the wrong length

export class ModuleError extends Error {
  override readonly name = 'ModuleError';
  constructor(
    readonly code: ModuleErrorCode,
    message: string,
    readonly details?: Readonly<Record<string, unknown>>,
  ) {
    super(message);
  }
}
