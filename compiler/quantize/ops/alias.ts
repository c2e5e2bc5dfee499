// Reshape, Flatten, Identity and Dropout (inference) move no data in a row-major layout: their output
// names the same arena tensor as their input, so no op is emitted and no memory is planned for them.
import type { Node } from '../../ir/graph.ts';
import type { LowerContext } from '../lower-context.ts';

export function lowerAlias(node: Node, ctx: LowerContext): void {
  ctx.alias(node.outputs[0], node.inputs[0], node);
}
