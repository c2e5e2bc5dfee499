// JSON.parse without losing digits of large integers. RFC 8259 §6 leaves number precision to the
// implementation, and JavaScript's reads 9223372036854775807 as 9223372036854775808; LwM2M
// Integer is signed 64-bit (Core 1.1 Appendix C), so SenML JSON, LwM2M JSON and the API's JSON
// bodies must read such values exactly. An integer literal outside the safe-integer range becomes
// a bigint; every other number stays a number, and JSON.parse still judges the whole text.
//
// How: one linear pass finds number tokens outside strings; an unsafe integer literal is replaced
// by a string that starts with a mark made fresh for this call (a NUL and random hex digits, so no
// string of the input can imitate it), and the reviver turns that string into a bigint. A text without such literals
// goes to JSON.parse untouched.
import { randomBytes } from 'node:crypto';

const NUMBER_START = /[-0-9]/;
const NUMBER_CHAR = /[-+0-9.eE]/;
const INTEGER_LITERAL = /^-?(?:0|[1-9]\d*)$/; // RFC 8259 §6 int: no leading zeros

type Reviver = (key: string, value: unknown) => unknown;

/** The text with each unsafe integer literal as a marked string, or undefined when there is none. */
function markLargeIntegers(text: string, mark: () => string): string | undefined {
  let out: string[] | undefined;
  let copied = 0;
  for (let i = 0; i < text.length;) {
    const ch = text[i]!;
    if (ch === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      i = j + 1;
      continue;
    }
    if (!NUMBER_START.test(ch)) {
      i++;
      continue;
    }
    let end = i + 1;
    while (end < text.length && NUMBER_CHAR.test(text[end]!)) end++;
    const token = text.slice(i, end);
    if (INTEGER_LITERAL.test(token) && token.length <= 400 && !Number.isSafeInteger(Number(token))) {
      out ??= [];
      out.push(text.slice(copied, i), `"\\u0000${mark()}${token}"`);
      copied = end;
    }
    i = end;
  }
  if (out === undefined) return undefined;
  out.push(text.slice(copied));
  return out.join('');
}

/**
 * JSON.parse, with integer literals outside ±(2^53 - 1) as bigint (a literal longer than 400
 * characters stays a number, as JSON.parse reads it). `reviver` sees the bigint values.
 */
export function parseJsonExact(text: string, reviver?: Reviver): unknown {
  let random: string | undefined;
  const marked = markLargeIntegers(text, () => (random ??= randomBytes(12).toString('hex')));
  if (marked === undefined) return reviver ? JSON.parse(text, reviver) : JSON.parse(text);
  const mark = `\u0000${random!}`;
  return JSON.parse(marked, (key, value: unknown) => {
    const v = typeof value === 'string' && value.startsWith(mark) ? BigInt(value.slice(mark.length)) : value;
    return reviver ? reviver(key, v) : v;
  });
}
