// AttributeProto -> IR AttrValue (onnx.proto, message AttributeProto). Graph-valued attributes
// (If/Loop/Scan bodies) are not supported: none of our operators take one.
import { CompileError } from '../ir/compile-error.ts';
import type { AttrValue } from '../ir/graph.ts';
import type { AttributeProto } from './proto-types.ts';
import { constFromTensorProto } from './tensor-proto.ts';

const AT = { UNDEFINED: 0, FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, GRAPH: 5, FLOATS: 6, INTS: 7, STRINGS: 8, SPARSE_TENSOR: 11 } as const;

const utf8 = new TextDecoder();

function int64(s: string | undefined, what: string): number {
  const n = Number(s ?? 0);
  // INT attributes are int64; we only need values that fit a double exactly (axes, sizes, flags).
  if (!Number.isSafeInteger(n)) throw new CompileError('BAD_MODEL', `${what}: integer ${s} out of range`);
  return n;
}

/** The declared kind of an attribute: ONNX keeps INT and FLOAT apart even where the IR holds both as numbers. */
export function protoAttrKind(a: AttributeProto): 'int' | 'float' | 'string' | 'ints' | 'other' {
  switch (declaredType(a)) {
    case AT.INT: return 'int';
    case AT.FLOAT: return 'float';
    case AT.STRING: return 'string';
    case AT.INTS: return 'ints';
    default: return 'other';
  }
}

function declaredType(a: AttributeProto): number {
  if (a.type !== undefined && a.type !== AT.UNDEFINED) return a.type;
  // IR v1 models may omit `type`: infer it from the one field that is set.
  if (a.f !== undefined) return AT.FLOAT;
  if (a.i !== undefined) return AT.INT;
  if (a.s !== undefined) return AT.STRING;
  if (a.t !== undefined) return AT.TENSOR;
  if (a.floats?.length) return AT.FLOATS;
  if (a.ints?.length) return AT.INTS;
  if (a.strings?.length) return AT.STRINGS;
  return AT.UNDEFINED;
}

export function attrFromProto(a: AttributeProto, where: string): [string, AttrValue] {
  const name = a.name ?? '';
  if (!name) throw new CompileError('BAD_MODEL', `${where} has an attribute without a name`);
  const what = `attribute '${name}' of ${where}`;
  if (a.ref_attr_name) throw new CompileError('BAD_MODEL', `${what} references a function attribute; functions are not supported`);
  const type = declaredType(a);
  switch (type) {
    case AT.FLOAT: return [name, a.f ?? 0];
    case AT.INT: return [name, int64(a.i, what)];
    case AT.STRING: return [name, utf8.decode(a.s ?? new Uint8Array())];
    case AT.TENSOR:
      if (!a.t) throw new CompileError('BAD_MODEL', `${what} is declared TENSOR but has no tensor`);
      return [name, constFromTensorProto(a.t, name)];
    case AT.FLOATS: return [name, a.floats ?? []];
    case AT.INTS: return [name, (a.ints ?? []).map((s) => int64(s, what))];
    case AT.STRINGS: return [name, (a.strings ?? []).map((s) => utf8.decode(s))];
    default:
      throw new CompileError('UNSUPPORTED_OP', `${what} has attribute type ${type} (graph/sparse/list-of-tensor attributes are not supported)`);
  }
}
