// Shared by the single-value formats (text 0, opaque 42, cbor 60): they carry exactly one
// resource or resource-instance value (Core 1.1 §7.4.1 plain text, §7.4.2 opaque, §7.4 CBOR).
import { CodecError } from './codec-error.ts';
import { formatPath } from './path.ts';
import type { LwM2mPath } from './path.ts';
import type { ResourceInstance, ResourceType, ResourceValue, SingleResource, LwM2mNode } from './node.ts';
import type { ModelLookup } from './object-model.ts';

/** The model type of the resource a single-value path names, or undefined for an unknown resource. */
export function modelType(path: LwM2mPath, model: ModelLookup): ResourceType | undefined {
  if (path.length < 3) return undefined;
  return model.resource(path[0]!, path[2]!)?.type;
}

export function requireSinglePath(path: LwM2mPath, format: string): void {
  if (path.length !== 3 && path.length !== 4) {
    throw new CodecError('UNSUPPORTED_FORMAT', `${format} carries a single resource value, not ${formatPath(path)}`);
  }
}

export function singleNode(path: LwM2mPath, type: ResourceType, value: ResourceValue): SingleResource | ResourceInstance {
  return path.length === 4
    ? { kind: 'resourceInstance', id: path[3]!, type, value }
    : { kind: 'resource', id: path[2]!, type, value };
}

export function singleValue(node: LwM2mNode, format: string): { type: ResourceType; value: ResourceValue } {
  if (node.kind === 'resource' || node.kind === 'resourceInstance') return { type: node.type, value: node.value };
  throw new CodecError('UNSUPPORTED_FORMAT', `${format} carries a single resource value, not a ${node.kind}`);
}
