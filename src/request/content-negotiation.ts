// Which content format to ask a device for, and to write to it in (LWM2M-NOTES: "no Accept, no
// promise": always send Accept, chosen from the formats the client declared, and fall back on 4.06).
import { ContentFormat } from '../lwm2m/content-format.ts';
import type { LwM2mPath } from '../lwm2m/path.ts';
import type { Registration } from '../registration/registration.ts';

const MULTI_VALUE_PREFERENCE: readonly ContentFormat[] = [
  ContentFormat.SENML_CBOR,
  ContentFormat.SENML_JSON,
  ContentFormat.LWM2M_CBOR,
  ContentFormat.TLV,
  ContentFormat.LWM2M_JSON,
];

/**
 * Candidate formats in order, for a read or a write of `path`.
 * Declared formats (ct=) come first; without a declaration the version decides: TLV is the
 * LwM2M 1.0 mandatory format and every common 1.1 client keeps it; SenML JSON next (Wakaama
 * answers 5.00 to a GET with no Accept but serves 110); LwM2M CBOR only from 1.2.
 */
export function candidateFormats(reg: Pick<Registration, 'contentFormats' | 'lwm2mVersion'>, path: LwM2mPath): ContentFormat[] {
  const allowed = (f: ContentFormat): boolean => {
    if (f === ContentFormat.LWM2M_CBOR) return reg.lwm2mVersion === '1.2' || reg.contentFormats.includes(f);
    if (f === ContentFormat.SENML_CBOR || f === ContentFormat.SENML_JSON || f === ContentFormat.CBOR) return reg.lwm2mVersion !== '1.0' || reg.contentFormats.includes(f);
    return true;
  };
  const declared = MULTI_VALUE_PREFERENCE.filter((f) => reg.contentFormats.includes(f) && allowed(f));
  const defaults: ContentFormat[] = reg.lwm2mVersion === '1.0'
    ? [ContentFormat.TLV, ContentFormat.LWM2M_JSON]
    : [ContentFormat.TLV, ContentFormat.SENML_JSON, ContentFormat.SENML_CBOR];
  const out = [...declared];
  for (const f of defaults) if (!out.includes(f) && allowed(f)) out.push(f);
  // a single resource can also travel as text/plain, which every version supports
  if (path.length >= 3) out.push(ContentFormat.TEXT);
  return out;
}

/** Formats that can carry several paths with their values (Composite Read, Send). */
export function compositeFormats(reg: Pick<Registration, 'contentFormats' | 'lwm2mVersion'>): ContentFormat[] {
  const all: ContentFormat[] = [ContentFormat.SENML_CBOR, ContentFormat.SENML_JSON, ContentFormat.LWM2M_CBOR];
  const declared = all.filter((f) => reg.contentFormats.includes(f));
  return declared.length > 0 ? declared : [ContentFormat.SENML_JSON, ContentFormat.SENML_CBOR];
}
