// The codec facade the server and the device simulator call: one entry per direction, chosen by
// CoAP Content-Format (LwM2M 1.1 TS Core §7.4; 11544 from LwM2M 1.2).
import { CodecError } from './codec-error.ts';
import { ContentFormat, contentFormatNames } from './content-format.ts';
import { decodeCbor, encodeCbor } from './cbor.ts';
import { decodeLwm2mCbor, encodeLwm2mCbor } from './lwm2m-cbor.ts';
import { decodeLwm2mJson, encodeLwm2mJson } from './lwm2m-json.ts';
import { decodeOpaque, encodeOpaque } from './opaque.ts';
import { nodeToRecords, recordsToNode, toWireRecords, typeRecords } from './records.ts';
import { decodeSenmlCbor, decodeSenmlCborPaths, encodeSenmlCbor, encodeSenmlCborPaths } from './senml-cbor.ts';
import { decodeSenmlJson, decodeSenmlJsonPaths, encodeSenmlJson, encodeSenmlJsonPaths } from './senml-json.ts';
import { decodeText, encodeText } from './text.ts';
import { decodeTlv, encodeTlv } from './tlv.ts';
import type { LwM2mNode, LwM2mRecord } from './node.ts';
import type { ModelLookup } from './object-model.ts';
import type { LwM2mPath } from './path.ts';
import type { WireRecord } from './records.ts';

export { CodecError } from './codec-error.ts';
export type { CodecErrorCode } from './codec-error.ts';
export { decodeLinkFormat, encodeLinkFormat, parseLinks, serializeLinks } from './link-format.ts';
export type { Link } from './link-format.ts';

function unsupported(format: ContentFormat | number, what: string): CodecError {
  const name = (contentFormatNames as Record<number, string | undefined>)[format] ?? String(format);
  return new CodecError('UNSUPPORTED_FORMAT', `${name} (${format}) cannot carry ${what}`);
}

function recordCodec(format: ContentFormat): {
  encode: (r: readonly WireRecord[]) => Uint8Array;
  decode: (p: Uint8Array) => WireRecord[];
} | undefined {
  switch (format) {
    case ContentFormat.SENML_JSON: return { encode: encodeSenmlJson, decode: decodeSenmlJson };
    case ContentFormat.SENML_CBOR: return { encode: encodeSenmlCbor, decode: decodeSenmlCbor };
    case ContentFormat.LWM2M_JSON: return { encode: encodeLwm2mJson, decode: decodeLwm2mJson };
    case ContentFormat.LWM2M_CBOR: return { encode: encodeLwm2mCbor, decode: decodeLwm2mCbor };
    default: return undefined;
  }
}

/** Encodes the node read at `path` (the node's own path) in `format`. Throws CodecError. */
export function encodeNode(node: LwM2mNode, path: LwM2mPath, format: ContentFormat, model: ModelLookup): Uint8Array {
  if (!supportsLevel(format, path, model)) throw unsupported(format, `the node at /${path.join('/')}`);
  switch (format) {
    case ContentFormat.TEXT: return encodeText(node);
    case ContentFormat.OPAQUE: return encodeOpaque(node);
    case ContentFormat.CBOR: return encodeCbor(node);
    case ContentFormat.TLV: return encodeTlv(node, path);
    default: {
      const codec = recordCodec(format);
      if (!codec) throw unsupported(format, 'a node');
      return codec.encode(toWireRecords(nodeToRecords(node, path)));
    }
  }
}

/** Decodes a payload answering a request on `path`. Throws CodecError only. */
export function decodeNode(payload: Uint8Array, format: ContentFormat, path: LwM2mPath, model: ModelLookup): LwM2mNode {
  switch (format) {
    case ContentFormat.TEXT: return decodeText(payload, path, model);
    case ContentFormat.OPAQUE: return decodeOpaque(payload, path, model);
    case ContentFormat.CBOR: return decodeCbor(payload, path, model);
    case ContentFormat.TLV: return decodeTlv(payload, path, model);
    case ContentFormat.LWM2M_JSON:
      return recordsToNode(typeRecords(decodeLwm2mJson(payload, path), model), path, model);
    default: {
      const codec = recordCodec(format);
      if (!codec) throw unsupported(format, 'a node');
      return recordsToNode(typeRecords(codec.decode(payload), model), path, model);
    }
  }
}

/** Composite read responses, Send, timestamped notifications: SenML JSON/CBOR, LwM2M JSON/CBOR. */
export function encodeRecords(records: LwM2mRecord[], format: ContentFormat): Uint8Array {
  const codec = recordCodec(format);
  if (!codec) throw unsupported(format, 'records');
  return codec.encode(toWireRecords(records));
}

export function decodeRecords(payload: Uint8Array, format: ContentFormat, model: ModelLookup): LwM2mRecord[] {
  const codec = recordCodec(format);
  if (!codec) throw unsupported(format, 'records');
  return typeRecords(codec.decode(payload), model);
}

/**
 * Composite-Read / Composite-Observe request bodies (LwM2M 1.1 TS Core, Device Management interface, Read-Composite):
 * SenML records that carry names only, any level ([{"n":"/3/0/1"},{"n":"/1/0"}]).
 */
export function encodePaths(paths: LwM2mPath[], format: ContentFormat): Uint8Array {
  if (format === ContentFormat.SENML_JSON) return encodeSenmlJsonPaths(paths);
  if (format === ContentFormat.SENML_CBOR) return encodeSenmlCborPaths(paths);
  throw unsupported(format, 'a path list');
}

export function decodePaths(payload: Uint8Array, format: ContentFormat): LwM2mPath[] {
  if (format === ContentFormat.SENML_JSON) return decodeSenmlJsonPaths(payload);
  if (format === ContentFormat.SENML_CBOR) return decodeSenmlCborPaths(payload);
  throw unsupported(format, 'a path list');
}

/**
 * Whether `format` can represent the node at `path` (otherwise the server answers 4.06):
 * text and CBOR carry a single resource or resource instance, opaque only opaque ones,
 * TLV and the record formats any object-level or deeper node; link format no node at all.
 */
export function supportsLevel(format: ContentFormat, path: LwM2mPath, model: ModelLookup): boolean {
  const resource = path.length >= 3 ? model.resource(path[0]!, path[2]!) : undefined;
  const single = path.length === 4 || (path.length === 3 && !(resource?.multiple ?? false));
  switch (format) {
    case ContentFormat.TEXT:
    case ContentFormat.CBOR:
      return single && resource?.type !== 'none';
    case ContentFormat.OPAQUE:
      return single && (resource === undefined || resource.type === 'opaque');
    case ContentFormat.TLV:
    case ContentFormat.SENML_JSON:
    case ContentFormat.SENML_CBOR:
    case ContentFormat.LWM2M_JSON:
    case ContentFormat.LWM2M_CBOR:
      return path.length >= 1 && path.length <= 4;
    default:
      return false;
  }
}
