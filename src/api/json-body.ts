// The API's JSON body parser: nesting is bounded before JSON.parse runs (a value nested 5,000 deep
// made the value converters overflow the stack, issue 14), `__proto__` keys are refused as the
// default parser does, integer literals past 2^53 are read exactly (bigint, src/lwm2m/exact-json.ts),
// and a parse error becomes a 400 whose message is bounded.
import type { FastifyInstance } from 'fastify';
import { ApiError } from './errors.ts';
import { parseJsonExact } from '../lwm2m/exact-json.ts';

export const MAX_JSON_DEPTH = 32;

/** Depth of the deepest array/object nesting in a JSON text (strings skipped), stopping past max. */
export function jsonDepth(text: string, max = Infinity): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
      continue;
    }
    if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      depth++;
      if (depth > deepest) deepest = depth;
      if (deepest > max) return deepest;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return deepest;
}

export function installJsonBodyParser(app: FastifyInstance, maxDepth = MAX_JSON_DEPTH): void {
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    const text = body as string;
    if (text === '') {
      done(null, undefined);
      return;
    }
    if (jsonDepth(text, maxDepth) > maxDepth) {
      done(new ApiError(400, 'BAD_JSON', `JSON body nested deeper than ${maxDepth} levels`), undefined);
      return;
    }
    try {
      // integer literals past 2^53 as bigint: a 64-bit resource value written as a number stays exact
      done(null, parseJsonExact(text, (k, v: unknown) => {
        if (k === '__proto__') throw new SyntaxError('a "__proto__" key is not accepted');
        // as fastify's default parser (secure-json-parse, constructorAction 'error')
        if (k === 'constructor' && v !== null && typeof v === 'object' && Object.prototype.hasOwnProperty.call(v, 'prototype')) throw new SyntaxError('a "constructor.prototype" key is not accepted');
        return v;
      }));
    } catch (e) {
      const message = (e as Error).message;
      done(new ApiError(400, 'BAD_JSON', `body is not valid JSON: ${message.length > 120 ? `${message.slice(0, 120)}…` : message}`), undefined);
    }
  });
}
