// Typed, checked access to node attributes. An attribute of the wrong kind is a BAD_MODEL, not a
// TypeError: a corrupt model must surface as a CompileError wherever it is first noticed.
import { CompileError } from './compile-error.ts';
import type { ConstTensor, Node } from './graph.ts';

function where(node: Node, name: string): string {
  return `attribute '${name}' of ${node.op} node '${node.name}'`;
}

export function hasAttr(node: Node, name: string): boolean {
  return Object.prototype.hasOwnProperty.call(node.attrs, name);
}

export function attrInt(node: Node, name: string, dflt: number): number {
  if (!hasAttr(node, name)) return dflt;
  const v = node.attrs[name];
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new CompileError('BAD_MODEL', `${where(node, name)} must be an integer`);
  return v;
}

export function attrFloat(node: Node, name: string, dflt: number): number {
  if (!hasAttr(node, name)) return dflt;
  const v = node.attrs[name];
  if (typeof v !== 'number') throw new CompileError('BAD_MODEL', `${where(node, name)} must be a number`);
  return v;
}

export function attrString(node: Node, name: string, dflt: string): string {
  if (!hasAttr(node, name)) return dflt;
  const v = node.attrs[name];
  if (typeof v !== 'string') throw new CompileError('BAD_MODEL', `${where(node, name)} must be a string`);
  return v;
}

export function attrInts(node: Node, name: string): readonly number[] | undefined {
  if (!hasAttr(node, name)) return undefined;
  const v = node.attrs[name];
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'number' && Number.isInteger(x))) {
    throw new CompileError('BAD_MODEL', `${where(node, name)} must be a list of integers`);
  }
  return v as readonly number[];
}

export function attrTensor(node: Node, name: string): ConstTensor | undefined {
  if (!hasAttr(node, name)) return undefined;
  const v = node.attrs[name];
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new CompileError('BAD_MODEL', `${where(node, name)} must be a tensor`);
  return v as ConstTensor;
}
