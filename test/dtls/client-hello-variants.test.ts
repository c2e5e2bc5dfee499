// ClientHellos as real LwM2M clients send them (DTLS-NOTES.md), written by hand and sent raw to
// the server: unknown suites and extensions are skipped, the cookie survives a padding extension
// added to the second ClientHello (Anjay), EMS and renegotiation_info are answered, nothing else.
import dgram from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { u16, vec } from '../../src/dtls/bytes.ts';
import { encodeClientHello, encodeHandshake, HandshakeType, parseHandshakeFragments, parseHelloVerifyRequest, parseServerHello, type Extension } from '../../src/dtls/handshake-message.ts';
import { ContentType, encodeRecordHeader, parseRecords } from '../../src/dtls/record.ts';
import { DtlsServer } from '../../src/dtls/server.ts';
import { quietLogger } from '../../src/log.ts';

let server: DtlsServer;
let socket: dgram.Socket;

beforeAll(async () => {
  server = await DtlsServer.open({ host: '127.0.0.1', port: 0, log: quietLogger, credentials: { pskKey: () => Buffer.alloc(16, 1) } });
  socket = dgram.createSocket('udp4');
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
});
afterAll(async () => {
  socket.close();
  await server.close();
});

function exchange(datagram: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('no answer')), 10_000);
    socket.once('message', (m) => {
      clearTimeout(t);
      resolve(m);
    });
    socket.send(datagram, server.address().port, '127.0.0.1');
  });
}

function helloRecord(seq: number, messageSeq: number, suites: number[], extensions: Extension[], cookie: Buffer = Buffer.alloc(0), random: Buffer = Buffer.alloc(32, 0x42)): Buffer {
  const body = encodeClientHello({ version: 0xfefd, random, sessionId: Buffer.alloc(0), cookie, cipherSuites: suites, compressionMethods: Buffer.from([0]), extensions });
  const msg = encodeHandshake(HandshakeType.clientHello, messageSeq, body);
  return Buffer.concat([encodeRecordHeader(ContentType.handshake, 0xfeff, 0, seq, msg.length), msg]);
}

describe('ClientHellos of real clients', () => {
  it('Anjay PSK: 49 suites with c0a8 far down, SNI, 35, 22, 23, 13, padding only in the second hello: ServerHello picks c0a8 and answers 23 and ff01 only', async () => {
    // RSA_PSK / DHE_PSK / unknown suites first, as Anjay lists them; then 00ff (the SCSV)
    const suites = [0x0093, 0x0094, 0x00aa, 0xccad, 0xccac, 0x00ab, 0x0095, 0xc0a9, 0x00a9, 0x00a8, 0xc0a8, 0x00ae, 0x00af, 0x00ff];
    const exts: Extension[] = [
      { type: 0, data: vec(2, Buffer.concat([Buffer.from([0]), vec(2, Buffer.from('127.0.0.1'))])) }, // SNI with an IP literal
      { type: 11, data: Buffer.from([1, 0]) },
      { type: 10, data: vec(2, u16(23)) },
      { type: 35, data: Buffer.alloc(0) },
      { type: 22, data: Buffer.alloc(0) },
      { type: 23, data: Buffer.alloc(0) },
      { type: 13, data: vec(2, u16(0x0403)) },
    ];
    const first = parseRecords(await exchange(helloRecord(0, 0, suites, exts))).records[0]!;
    expect(first.seq).toBe(0); // RFC 6347 §4.2.1: the HelloVerifyRequest takes the ClientHello's record seq
    const hvrMsg = parseHandshakeFragments(first.fragment).value![0]!;
    expect(hvrMsg.msgType).toBe(HandshakeType.helloVerifyRequest);
    expect(hvrMsg.messageSeq).toBe(0);
    const cookie = parseHelloVerifyRequest(hvrMsg.body).value!.cookie;
    const padded = [...exts, { type: 21, data: Buffer.alloc(100) }];
    const flight = parseRecords(await exchange(helloRecord(1, 1, suites, padded, cookie))).records;
    const msgs = flight.flatMap((r) => parseHandshakeFragments(r.fragment).value!);
    expect(msgs.map((m) => m.msgType)).toEqual([HandshakeType.serverHello, HandshakeType.serverHelloDone]);
    expect(msgs[0]!.messageSeq).toBe(1); // after a HelloVerifyRequest the ServerHello takes message_seq 1
    const sh = parseServerHello(msgs[0]!.body).value!;
    expect(sh.cipherSuite).toBe(0xc0a8);
    expect(sh.extensions.map((e) => e.type).sort()).toEqual([23, 0xff01]);
    expect(sh.extensions.find((e) => e.type === 0xff01)!.data.toString('hex')).toBe('00');
  });

  it('a ClientHello without a suite we speak gets a handshake_failure alert', async () => {
    const first = parseRecords(await exchange(helloRecord(0, 0, [0x0093, 0xccac], [], Buffer.alloc(0), Buffer.alloc(32, 7)))).records[0]!;
    const cookie = parseHelloVerifyRequest(parseHandshakeFragments(first.fragment).value![0]!.body).value!.cookie;
    const answer = parseRecords(await exchange(helloRecord(1, 1, [0x0093, 0xccac], [], cookie, Buffer.alloc(32, 7)))).records[0]!;
    expect(answer.type).toBe(ContentType.alert);
    expect([...answer.fragment]).toEqual([2, 40]); // fatal, handshake_failure
  });
});
