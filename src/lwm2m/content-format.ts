// CoAP Content-Format numbers used by LwM2M (LwM2M 1.1 TS Core §7.1, 1.2 adds 11544).

export const ContentFormat = {
  TEXT: 0,
  LINK: 40,
  OPAQUE: 42,
  CBOR: 60,
  SENML_JSON: 110,
  SENML_CBOR: 112,
  TLV: 11542,
  LWM2M_JSON: 11543,
  LWM2M_CBOR: 11544,
} as const;

export type ContentFormat = (typeof ContentFormat)[keyof typeof ContentFormat];

export const contentFormatNames: Record<ContentFormat, string> = {
  0: 'text', 40: 'link', 42: 'opaque', 60: 'cbor', 110: 'senml-json', 112: 'senml-cbor',
  11542: 'tlv', 11543: 'lwm2m-json', 11544: 'lwm2m-cbor',
};

export function isContentFormat(n: number): n is ContentFormat {
  return Object.prototype.hasOwnProperty.call(contentFormatNames, n);
}

/** Looks a format up by number or by name ("tlv", "senml-json", "110"). */
export function parseContentFormat(text: string): ContentFormat | undefined {
  const n = Number(text);
  if (Number.isInteger(n) && isContentFormat(n)) return n;
  const hit = Object.entries(contentFormatNames).find(([, name]) => name === text.toLowerCase());
  return hit ? (Number(hit[0]) as ContentFormat) : undefined;
}
