// The one error type of the compiler. Every stage throws it (never a bare Error) so a caller — the
// CLI, the API edge — can map `code` to an exit status or an HTTP status without parsing messages.

export type CompileErrorCode =
  | 'BAD_MODEL' // not a well-formed ONNX model (corrupt protobuf, dangling names, bad attributes)
  | 'UNSUPPORTED_OP' // a well-formed model using an operator or operator mode we do not implement
  | 'UNSUPPORTED_DTYPE' // a tensor element type we do not implement
  | 'BAD_OPSET' // the default-domain opset is outside the supported range
  | 'SHAPE_MISMATCH' // shapes that cannot go together (inputs of an op, declared vs inferred, runtime inputs)
  | 'TOO_LARGE' // the model or one of its tensors exceeds a size limit
  | 'BAD_DATA'; // an input data file (IDX images, TensorProto) that cannot be read

export class CompileError extends Error {
  override readonly name = 'CompileError';
  constructor(
    readonly code: CompileErrorCode,
    message: string,
    readonly details?: Readonly<Record<string, unknown>>,
  ) {
    super(message);
  }
}

export function isCompileError(e: unknown): e is CompileError {
  return e instanceof CompileError;
}

/** Throws `CompileError(code, message)` unless `cond` holds. */
export function check(cond: unknown, code: CompileErrorCode, message: string): asserts cond {
  if (!cond) throw new CompileError(code, message);
}
