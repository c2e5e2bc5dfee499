// The LwM2M data model as plain records (LwM2M 1.1 TS Core §6.1, Appendix C for data types).
import type { LwM2mPath } from './path.ts';

export type ResourceType =
  | 'string' | 'integer' | 'unsigned' | 'float' | 'boolean' | 'opaque' | 'time' | 'objlnk' | 'corelnk' | 'none';

export type ObjectLink = { readonly objectId: number; readonly instanceId: number };

/**
 * A resource value. float: number; integer/unsigned/time: number inside JavaScript's safe-integer
 * range, bigint outside it (Core 1.1 Appendix C: Integer is signed 64-bit, Unsigned Integer
 * unsigned 64-bit; clients really send values beyond 2^53) — integers.ts keeps that one form;
 * opaque: Uint8Array; objlnk: ObjectLink; string/corelnk: string; boolean: boolean.
 */
export type ResourceValue = string | number | bigint | boolean | Uint8Array | ObjectLink;

export type SingleResource = {
  readonly kind: 'resource';
  readonly id: number;
  readonly type: ResourceType;
  readonly value: ResourceValue;
};

export type MultipleResource = {
  readonly kind: 'multiResource';
  readonly id: number;
  readonly type: ResourceType;
  /** resource instance id -> value */
  readonly values: Readonly<Record<number, ResourceValue>>;
};

export type ResourceInstance = {
  readonly kind: 'resourceInstance';
  readonly id: number;
  readonly type: ResourceType;
  readonly value: ResourceValue;
};

export type Resource = SingleResource | MultipleResource;

export type ObjectInstance = {
  readonly kind: 'instance';
  readonly id: number;
  readonly resources: readonly Resource[];
};

export type LwM2mObject = {
  readonly kind: 'object';
  readonly id: number;
  readonly instances: readonly ObjectInstance[];
};

export type LwM2mNode = LwM2mObject | ObjectInstance | Resource | ResourceInstance;

/**
 * One leaf value with its full path: what SenML, LwM2M JSON/CBOR and Send carry
 * (a resource path, or a resource-instance path for multiple resources).
 * `time` is seconds since the epoch when the record carried one (RFC 8428 §4.5.3).
 */
export type LwM2mRecord = {
  readonly path: LwM2mPath;
  readonly value: ResourceValue;
  readonly time?: number;
  /**
   * The type the wire format gave the value, for a resource without a model: a number written as
   * a float (SenML JSON -82.0, a CBOR half/single/double float) stays a float, even when integral.
   * Going out, nodeToRecords marks the values of Float resources the same way, so the LwM2M JSON,
   * LwM2M CBOR (and CBOR) encoders write 21.0 as a float, not as the integer 21.
   */
  readonly wireType?: ResourceType;
};

export function isObjectLink(v: ResourceValue): v is ObjectLink {
  return typeof v === 'object' && !(v instanceof Uint8Array) && 'objectId' in v;
}
