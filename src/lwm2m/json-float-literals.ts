// Which records' "v" a JSON text writes as a float literal. JSON.parse turns -82.0 into -82, but a
// value a device wrote as a float stays a float for a resource without a model: in SenML JSON and
// LwM2M JSON every number travels in "v" (RFC 8428 §4.3, LwM2M 1.1 TS Core §7.4.5), so the literal
// is the only type information (RFC 8259 §6: number = [minus] int [frac] [exp]).

const WS = new Set([' ', '\t', '\n', '\r']);
const NUMBER_CHAR = /[-+0-9.eE]/;

export type RecordLayout = {
  /** nesting depth of a record object: 2 for SenML's [ {...} ], 3 for LwM2M JSON's {"e":[ {...} ]} */
  recordDepth: 2 | 3;
  /** the root object's member holding the records array (LwM2M JSON: "e"); absent when the root is the array */
  rootKey?: string;
};

/**
 * For each record, in order, whether its "v" is a float literal; in a text JSON.parse already
 * accepted. Duplicate keys follow JSON.parse: the last records member and the last "v" win.
 */
export function floatValueLiterals(text: string, layout: RecordLayout): boolean[] {
  let out: boolean[] = [];
  let depth = 0;
  let rootKey: string | undefined; // the last key read in the root object
  let recordKey: string | undefined; // the last key read in the current record
  const inRecords = (): boolean => layout.rootKey === undefined || rootKey === layout.rootKey;
  for (let i = 0; i < text.length;) {
    const ch = text[i]!;
    if (ch === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      const str = text.slice(i + 1, j);
      i = j + 1;
      while (WS.has(text[i] ?? '')) i++;
      if (text[i] === ':') {
        if (depth === 1) rootKey = str;
        else if (depth === layout.recordDepth) recordKey = str;
      }
      continue;
    }
    if (ch === '{' || ch === '[') {
      depth++;
      if (ch === '[' && depth === layout.recordDepth - 1 && layout.rootKey !== undefined && inRecords()) out = [];
      else if (ch === '{' && depth === layout.recordDepth && inRecords()) {
        out.push(false);
        recordKey = undefined;
      }
    } else if (ch === '}' || ch === ']') {
      depth--;
    } else if (ch === ':' && depth === layout.recordDepth && inRecords() && recordKey === 'v') {
      let j = i + 1;
      while (WS.has(text[j] ?? '')) j++;
      let end = j;
      while (end < text.length && NUMBER_CHAR.test(text[end]!)) end++;
      if (out.length > 0) out[out.length - 1] = /[.eE]/.test(text.slice(j, end));
      i = end;
      continue;
    }
    i++;
  }
  return out;
}
