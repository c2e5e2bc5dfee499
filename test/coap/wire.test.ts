import { describe, expect, it } from 'vitest';
import { parseMessage, serializeMessage } from '../../src/coap/wire.ts';
import { encodeUint } from '../../src/coap/message.ts';

// Hand-written vectors (RFC 7252 §3, §3.1)
describe('CoAP wire format', () => {
  it('serializes options sorted, with 1- and 2-byte extended deltas and lengths, into one buffer', () => {
    const longValue = Buffer.alloc(300, 0x61); // length 300: nibble 14, extended 300 - 269 = 31
    const bytes = serializeMessage({
      type: 'CON', code: 2, messageId: 0x1234, token: Buffer.from([0xaa, 0xbb]),
      // given out of order: Uri-Query (15) before Uri-Path (11), the two Uri-Paths in their order
      options: [
        { number: 15, value: Buffer.from('b=U') },
        { number: 11, value: Buffer.from('rd') },
        { number: 11, value: Buffer.from('x') },
        { number: 60, value: encodeUint(300) },
        { number: 300, value: longValue },
      ],
      payload: Buffer.from([0x01]),
    });
    const expected = Buffer.concat([
      Buffer.from([0x42, 0x02, 0x12, 0x34, 0xaa, 0xbb]),
      Buffer.from([0xb2]), Buffer.from('rd'), // delta 11, length 2
      Buffer.from([0x01]), Buffer.from('x'), // delta 0, length 1
      Buffer.from([0x43]), Buffer.from('b=U'), // delta 4, length 3
      Buffer.from([0xd2, 60 - 15 - 13, 0x01, 0x2c]), // delta 45 (13 + 32), length 2: Size1 300
      Buffer.from([0xde, 300 - 60 - 13, 0x00, 300 - 269]), longValue, // delta 240 (13 + 227), length 300 (14 + 31)
      Buffer.from([0xff, 0x01]),
    ]);
    expect(bytes.toString('hex')).toBe(expected.toString('hex'));
    const back = parseMessage(bytes);
    expect(back.options.map((o) => o.number)).toEqual([11, 11, 15, 60, 300]);
    expect(back.options[4]!.value.equals(longValue)).toBe(true);
    expect(back.payload.equals(Buffer.from([0x01]))).toBe(true);
  });

  it('encodes uint option values big-endian without leading zeros', () => {
    expect(encodeUint(0).length).toBe(0);
    expect(encodeUint(0x2c).toString('hex')).toBe('2c');
    expect(encodeUint(0x0100).toString('hex')).toBe('0100');
    expect(encodeUint(0xffffff).toString('hex')).toBe('ffffff');
    expect(encodeUint(2 ** 32 + 1).toString('hex')).toBe('0100000001');
  });
});
