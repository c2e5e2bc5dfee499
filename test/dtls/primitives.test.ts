// The building blocks against published vectors and hand-written bytes: the TLS 1.2 PRF
// (P_SHA256 vector as widely published for RFC 5246), AES-CCM (RFC 3610 packet vector #1), the
// CCM_8 record nonce and additional data (RFC 6655 §3, RFC 5246 §6.2.3.3) computed independently,
// record and handshake framing, the replay window and fragment reassembly.
import { createCipheriv } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CookieJar } from '../../src/dtls/cookie.ts';
import { FragmentReassembler } from '../../src/dtls/fragment-reassembler.ts';
import { fragmentHandshake, encodeHandshake, parseClientHello, parseHandshakeFragments } from '../../src/dtls/handshake-message.ts';
import { pskPremaster } from '../../src/dtls/key-schedule.ts';
import { prf } from '../../src/dtls/prf.ts';
import { parseRecords } from '../../src/dtls/record.ts';
import { protect, unprotect, type ProtectionKeys } from '../../src/dtls/record-protection.ts';
import { ReplayWindow } from '../../src/dtls/replay-window.ts';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

describe('TLS 1.2 PRF (RFC 5246 §5)', () => {
  it('matches the published P_SHA256 test vector', () => {
    const out = prf(hex('9bbe436ba940f017b17652849a71db35'), 'test label', hex('a0ba9f936cda311827a6f796ffd5198c'), 100);
    expect(out.toString('hex')).toBe(
      'e3f229ba727be17b8d122620557cd453c2aab21d07c3d495329b52d4e61edb5a6b301791e90d35c9c9a46b4e14baf9af0fa022f7077def17abfd3797c0564bab4fbc91666e9def9b97fce34f796789baa48082d122ee42c5a72e5a5110fff70187347b66',
    );
  });

  it('builds the PSK premaster secret of RFC 4279 §2', () => {
    expect(pskPremaster(hex('0a0b0c')).toString('hex')).toBe('0003' + '000000' + '0003' + '0a0b0c');
  });
});

describe('AES-CCM', () => {
  it('node:crypto reproduces RFC 3610 packet vector #1 (8-byte tag)', () => {
    const c = createCipheriv('aes-128-ccm', hex('c0c1c2c3c4c5c6c7c8c9cacbcccdcecf'), hex('00000003020100a0a1a2a3a4a5'), { authTagLength: 8 });
    const plain = hex('08090a0b0c0d0e0f101112131415161718191a1b1c1d1e');
    c.setAAD(hex('0001020304050607'), { plaintextLength: plain.length });
    const out = Buffer.concat([c.update(plain), c.final(), c.getAuthTag()]);
    expect(out.toString('hex')).toBe('588c979a61c663d2f066d0c2c0f989806d5f6b61dac38417e8d12cfdf926e0');
  });

  it('a CCM_8 record: explicit nonce epoch||seq, nonce = salt||explicit, AAD = seq, type, version, length (RFC 6655 §3)', () => {
    const keys: ProtectionKeys = { cipher: 'aes-128-ccm8', encKey: hex('000102030405060708090a0b0c0d0e0f'), macKey: Buffer.alloc(0), fixedIv: hex('a1a2a3a4') };
    const plain = Buffer.from('coap over dtls');
    const meta = { type: 23, version: 0xfefd, epoch: 1, seq: 5 };
    const fragment = protect(keys, meta, plain);
    // computed here from the RFC's definitions, not from our code
    const c = createCipheriv('aes-128-ccm', keys.encKey, hex('a1a2a3a4' + '0001000000000005'), { authTagLength: 8 });
    c.setAAD(hex('0001000000000005' + '17' + 'fefd' + '000e'), { plaintextLength: plain.length });
    const expected = Buffer.concat([hex('0001000000000005'), c.update(plain), c.final(), c.getAuthTag()]);
    expect(fragment.toString('hex')).toBe(expected.toString('hex'));
    expect(unprotect(keys, meta, fragment)!.toString()).toBe('coap over dtls');
    expect(unprotect(keys, { ...meta, seq: 6 }, fragment)).toBeUndefined(); // AAD binds the sequence number
    const flipped = Buffer.from(fragment);
    flipped[10]! ^= 1;
    expect(unprotect(keys, meta, flipped)).toBeUndefined();
    // with room for the record header (the connection's one-copy path): the same bytes after the room
    const roomy = protect(keys, meta, plain, 13);
    expect(roomy.subarray(13).toString('hex')).toBe(expected.toString('hex'));
  });

  it('a GCM record (RFC 5288 §3): the same nonce and AAD rules, a 16-byte tag; header room leaves the bytes alike', () => {
    const keys: ProtectionKeys = { cipher: 'aes-128-gcm', encKey: hex('0f0e0d0c0b0a09080706050403020100'), macKey: Buffer.alloc(0), fixedIv: hex('b1b2b3b4') };
    const plain = Buffer.from('a block of a package');
    const meta = { type: 23, version: 0xfefd, epoch: 2, seq: 0x0102030405 };
    const c = createCipheriv('aes-128-gcm', keys.encKey, hex('b1b2b3b4' + '0002000102030405'));
    c.setAAD(hex('0002000102030405' + '17' + 'fefd' + '0014'));
    const expected = Buffer.concat([hex('0002000102030405'), c.update(plain), c.final(), c.getAuthTag()]);
    expect(protect(keys, meta, plain).toString('hex')).toBe(expected.toString('hex'));
    expect(protect(keys, meta, plain, 13).subarray(13).toString('hex')).toBe(expected.toString('hex'));
    expect(unprotect(keys, meta, expected)!.toString()).toBe('a block of a package');
    expect(unprotect(keys, { ...meta, type: 22 }, expected)).toBeUndefined(); // AAD binds the content type
  });

  it('CBC-SHA256 records round-trip and refuse a flipped bit or bad padding', () => {
    const keys: ProtectionKeys = { cipher: 'aes-128-cbc-sha256', encKey: Buffer.alloc(16, 7), macKey: Buffer.alloc(32, 9), fixedIv: Buffer.alloc(0) };
    const meta = { type: 23, version: 0xfefd, epoch: 1, seq: 1 };
    for (const n of [0, 1, 15, 16, 47, 100]) {
      const plain = Buffer.alloc(n, 0x5a);
      const f = protect(keys, meta, plain);
      expect(f.length % 16).toBe(0);
      expect(unprotect(keys, meta, f)!.equals(plain)).toBe(true);
      expect(unprotect(keys, meta, protect(keys, meta, plain, 13).subarray(13))!.equals(plain)).toBe(true);
      const g = Buffer.from(f);
      g[g.length - 1]! ^= 1;
      expect(unprotect(keys, meta, g)).toBeUndefined();
    }
  });
});

describe('record framing (RFC 6347 §4.1)', () => {
  it('parses two records of one datagram from hand-written bytes and stops at a truncated third', () => {
    const d = hex('16 fefd 0000 000000000001 0002 aabb' + '14 fefd 0000 000000000002 0001 01' + '17 fefd 0001 000000000000 0010 00');
    const { records, error } = parseRecords(d);
    expect(records.map((r) => [r.type, r.epoch, r.seq, r.fragment.toString('hex')])).toEqual([[22, 0, 1, 'aabb'], [20, 0, 2, '01']]);
    expect(error).toBe('truncated record');
  });

  it('reads a tls12_cid record header with the negotiated CID length (RFC 9146 §4)', () => {
    const { records } = parseRecords(hex('19 fefd 0001 000000000007 c1c2c3 0002 eeff'), 3);
    expect(records[0]!.cid!.toString('hex')).toBe('c1c2c3');
    expect(records[0]!.fragment.toString('hex')).toBe('eeff');
    expect(parseRecords(hex('19 fefd 0001 000000000007 c1c2c3 0002 eeff')).error).toMatch(/tls12_cid/);
  });
});

describe('handshake messages', () => {
  // a DTLS 1.2 ClientHello as Wakaama sends it (DTLS-NOTES.md): c0a8 only, extension 23, no cookie
  const wakaamaHello = hex('fefd' + '11'.repeat(32) + '00' + '00' + '0002c0a8' + '0100' + '0004' + '00170000');

  it('parses a ClientHello from hand-written bytes', () => {
    const h = parseClientHello(wakaamaHello).value!;
    expect(h.cipherSuites).toEqual([0xc0a8]);
    expect(h.extensions).toEqual([{ type: 23, data: Buffer.alloc(0) }]);
    expect(h.cookie.length).toBe(0);
  });

  it('refuses a ClientHello with an extension twice (RFC 5246 §7.4.1.4) or a length past the end', () => {
    expect(parseClientHello(hex('fefd' + '11'.repeat(32) + '00' + '00' + '0002c0a8' + '0100' + '0008' + '00170000' + '00170000')).error).toMatch(/twice/);
    expect(parseClientHello(wakaamaHello.subarray(0, 45)).error).toBeDefined();
  });

  it('fragments a message and reassembles it from out-of-order, overlapping, repeated fragments (RFC 6347 §4.2.3)', () => {
    const body = Buffer.from(Array.from({ length: 300 }, (_, i) => i & 0xff));
    const whole = encodeHandshake(11, 3, body);
    const pieces = fragmentHandshake(whole, 64).map((p) => parseHandshakeFragments(p).value![0]!);
    expect(pieces).toHaveLength(5);
    const r = new FragmentReassembler();
    const order = [4, 1, 1, 0, 3];
    for (const i of order) expect(r.add(pieces[i]!)).toBeUndefined();
    const done = r.add(pieces[2]!);
    expect(done && 'whole' in done && done.whole.equals(whole)).toBe(true);
  });

  it('refuses messages over the size limit and too many partial messages', () => {
    const r = new FragmentReassembler(1000, 2);
    expect(r.add({ msgType: 11, length: 5000, messageSeq: 1, fragmentOffset: 0, body: Buffer.alloc(10) })).toEqual({ error: expect.stringMatching(/limit/) });
    r.add({ msgType: 11, length: 500, messageSeq: 1, fragmentOffset: 0, body: Buffer.alloc(10) });
    r.add({ msgType: 11, length: 500, messageSeq: 2, fragmentOffset: 0, body: Buffer.alloc(10) });
    expect(r.add({ msgType: 11, length: 500, messageSeq: 3, fragmentOffset: 0, body: Buffer.alloc(10) })).toEqual({ error: expect.stringMatching(/too many/) });
  });
});

describe('replay window (RFC 6347 §4.1.2.6)', () => {
  it('accepts each sequence number once, within 64 of the highest', () => {
    const w = new ReplayWindow();
    for (const s of [5, 3, 70, 7]) {
      expect(w.mayAccept(s)).toBe(true);
      w.mark(s);
    }
    expect(w.mayAccept(5)).toBe(false); // seen
    expect(w.mayAccept(6)).toBe(false); // left of the window (70 - 64)
    expect(w.mayAccept(7)).toBe(false); // seen
    expect(w.mayAccept(8)).toBe(true);
    expect(w.mayAccept(71)).toBe(true);
  });
});

describe('cookies (RFC 6347 §4.2.1)', () => {
  it('verify for the same address and hello, ignore extensions, survive one rotation but not two', () => {
    const jar = new CookieJar();
    const hello = parseClientHello(wakaama()).value!;
    const cookie = jar.make('10.0.0.1', 5000, hello);
    expect(jar.verify('10.0.0.1', 5000, { ...hello, cookie, extensions: [{ type: 21, data: Buffer.alloc(9) }] })).toBe(true);
    expect(jar.verify('10.0.0.1', 5001, { ...hello, cookie })).toBe(false);
    expect(jar.verify('10.0.0.1', 5000, { ...hello, cookie, random: Buffer.alloc(32) })).toBe(false);
    jar.rotate();
    expect(jar.verify('10.0.0.1', 5000, { ...hello, cookie })).toBe(true);
    jar.rotate();
    expect(jar.verify('10.0.0.1', 5000, { ...hello, cookie })).toBe(false);
  });
});

function wakaama(): Buffer {
  return hex('fefd' + '22'.repeat(32) + '00' + '00' + '0002c0a8' + '0100' + '0004' + '00170000');
}
