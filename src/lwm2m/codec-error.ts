// The one error every codec throws, with a code the CoAP edge maps to a response
// (BAD_PAYLOAD -> 4.00, UNSUPPORTED_FORMAT -> 4.06/4.15, TYPE_MISMATCH -> 4.00).

export type CodecErrorCode = 'BAD_PAYLOAD' | 'UNSUPPORTED_FORMAT' | 'TYPE_MISMATCH';

export class CodecError extends Error {
  constructor(readonly code: CodecErrorCode, message: string) {
    super(message);
    this.name = 'CodecError';
  }
}

export function badPayload(message: string): CodecError {
  return new CodecError('BAD_PAYLOAD', message);
}

/**
 * Runs a decoder step and turns any foreign exception (RangeError from a typed array, an error
 * thrown inside cbor-x or JSON.parse, a stack overflow on deep nesting) into a CodecError, so
 * callers only ever see CodecError.
 */
export function guard<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof CodecError) throw err;
    const reason = err instanceof Error ? err.message : String(err);
    throw badPayload(`${what}: ${reason}`);
  }
}
