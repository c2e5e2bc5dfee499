// Opaque (Content-Format 42), LwM2M 1.1 TS Core §7.4.2: the raw bytes of one opaque resource.
import { CodecError } from './codec-error.ts';
import { modelType, requireSinglePath, singleNode, singleValue } from './single-value.ts';
import { copyBytes } from './values.ts';
import type { LwM2mNode } from './node.ts';
import type { ModelLookup } from './object-model.ts';
import type { LwM2mPath } from './path.ts';

export function decodeOpaque(payload: Uint8Array, path: LwM2mPath, model: ModelLookup): LwM2mNode {
  requireSinglePath(path, 'opaque');
  const type = modelType(path, model) ?? 'opaque';
  if (type !== 'opaque') throw new CodecError('UNSUPPORTED_FORMAT', `opaque format for a ${type} resource`);
  return singleNode(path, 'opaque', copyBytes(payload));
}

export function encodeOpaque(node: LwM2mNode): Uint8Array {
  const { type, value } = singleValue(node, 'opaque');
  if (type !== 'opaque' || !(value instanceof Uint8Array)) {
    throw new CodecError('UNSUPPORTED_FORMAT', `opaque format for a ${type} resource`);
  }
  return copyBytes(value);
}
