// Interoperability with an independent CoAP implementation: libcoap's coap-client-notls drives
// the real server over real UDP sockets (registration interface, RFC 7959 block-wise in both
// directions, version negotiation), and raw datagrams check the RFC 7252 message-format edge.
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Code, Option, codeText, type CoapMessage } from '../../src/coap/message.ts';
import { serializeMessage } from '../../src/coap/wire.ts';
import { coapClient, optionValues, type CoapClientRun } from '../helpers/coap-cli.ts';
import { startLiveServer, type LiveServer } from '../helpers/live-server.ts';
import { UdpProbe, type Reply } from '../helpers/udp-probe.ts';
import { freeUdpPort } from '../helpers/free-udp-port.ts';

let live: LiveServer;
let base: string;

beforeAll(async () => {
  live = await startLiveServer();
  base = `coap://127.0.0.1:${live.port}`;
});

afterAll(async () => {
  await live?.close();
});

function locationOf(run: CoapClientRun): string[] {
  const created = run.responses.find((r) => r.code === '2.01');
  return created ? optionValues(created, 'Location-Path') : [];
}

async function registerRaw(ep: string, links: string, extra = '&lt=60&lwm2m=1.1&b=U', clientArgs: string[] = []): Promise<CoapClientRun> {
  return coapClient(['-m', 'post', '-t', '40', ...clientArgs, '-e', links, `${base}/rd?ep=${ep}${extra}`]);
}

describe('coap-client: registration interface (Transport §6.2)', () => {
  it('registers, updates and de-registers a hand-made client', async () => {
    // coap-client's -p: a plain-CoAP registration is bound to its source address and port
    // (issue 12 §2), so Update and De-register must come from the same one
    const port = String(await freeUdpPort());
    const reg = await registerRaw('raw-1', '</1/0>,</3/0>', undefined, ['-p', port]);
    expect(reg.finalCode, reg.stdout + reg.stderr).toBe('2.01');
    const location = locationOf(reg);
    expect(location).toHaveLength(2);
    expect(location[0]).toBe('rd');
    const id = location[1]!;

    const stored = await live.server.registrations.byEndpoint('raw-1');
    expect(stored?.id).toBe(id);
    expect(stored?.lifetime).toBe(60);
    expect(stored?.lwm2mVersion).toBe('1.1');
    expect(stored?.binding).toBe('U');
    expect(stored?.objectLinks.map((l) => l.path)).toEqual([[1, 0], [3, 0]]);

    const res = await live.api.inject({ method: 'GET', url: '/devices/raw-1' });
    expect(res.statusCode).toBe(200);
    const body = res.json<{ registrationId: string; objectLinks: { path: string }[]; lifetime: number }>();
    expect(body.registrationId).toBe(id);
    expect(body.objectLinks.map((l) => l.path)).toEqual(['/1/0', '/3/0']);

    // an Update from another source port is someone else: refused, nothing changed (issue 12 §2)
    const foreign = await coapClient(['-m', 'post', `${base}/rd/${id}?lt=4294967295`]);
    expect(foreign.finalCode).toBe('4.03');
    expect((await live.server.registrations.byId(id))?.lifetime).toBe(60);
    expect((await coapClient(['-m', 'delete', `${base}/rd/${id}`])).finalCode).toBe('4.03');

    // Update (Core §6.2.2): new lifetime and a new object list, from the registered source port
    const upd = await coapClient(['-m', 'post', '-p', port, '-t', '40', '-e', '</1/0>,</3/0>,</4/0>', `${base}/rd/${id}?lt=120`]);
    expect(upd.finalCode, upd.stdout + upd.stderr).toBe('2.04');
    const updated = await live.server.registrations.byId(id);
    expect(updated?.lifetime).toBe(120);
    expect(updated?.objectLinks.map((l) => l.path)).toEqual([[1, 0], [3, 0], [4, 0]]);
    expect(live.events.some((e) => e.type === 'update' && e.registration.id === id)).toBe(true);

    // an update without payload keeps the object list
    const upd2 = await coapClient(['-m', 'post', '-p', port, `${base}/rd/${id}`]);
    expect(upd2.finalCode).toBe('2.04');
    expect((await live.server.registrations.byId(id))?.objectLinks).toHaveLength(3);

    const del = await coapClient(['-m', 'delete', '-p', port, `${base}/rd/${id}`]);
    expect(del.finalCode, del.stdout + del.stderr).toBe('2.02');
    expect(await live.server.registrations.byEndpoint('raw-1')).toBeUndefined();
    expect((await live.api.inject({ method: 'GET', url: '/devices/raw-1' })).statusCode).toBe(404);

    // the id is gone: update and de-register answer 4.04
    expect((await coapClient(['-m', 'post', `${base}/rd/${id}`])).finalCode).toBe('4.04');
    expect((await coapClient(['-m', 'delete', `${base}/rd/${id}`])).finalCode).toBe('4.04');
  });
});

describe('coap-client: real-world endpoint names and re-registration', () => {
  it('registers a URN endpoint name (percent-encoded in the URI) and the API finds it', async () => {
    const ep = 'urn:imei:490154203237518';
    const run = await coapClient(['-m', 'post', '-t', '40', '-e', '</3/0>', `${base}/rd?ep=${encodeURIComponent(ep)}&lwm2m=1.1`]);
    expect(run.finalCode).toBe('2.01');
    expect((await live.server.registrations.byEndpoint(ep))?.endpoint).toBe(ep);
    const res = await live.api.inject({ method: 'GET', url: `/devices/${encodeURIComponent(ep)}` });
    expect(res.statusCode).toBe(200);
    expect(res.json<{ endpoint: string }>().endpoint).toBe(ep);
  });

  it('the same endpoint registering again from a new port replaces the old registration', async () => {
    const first = await registerRaw('reboot-1', '</1/0>,</3/0>');
    const second = await registerRaw('reboot-1', '</1/0>,</3/0>,</5/0>');
    expect(first.finalCode).toBe('2.01');
    expect(second.finalCode).toBe('2.01');
    const [oldId, newId] = [locationOf(first)[1], locationOf(second)[1]];
    expect(newId).not.toBe(oldId);
    const reg = await live.server.registrations.byEndpoint('reboot-1');
    expect(reg?.id).toBe(newId);
    expect(reg?.objectLinks).toHaveLength(3);
    expect(live.events.some((e) => e.type === 'deregistration' && e.reason === 'replaced' && e.registration.id === oldId)).toBe(true);
    const list = await live.api.inject({ method: 'GET', url: '/devices?endpoint=reboot-1' });
    expect(list.json<{ devices: { endpoint: string }[] }>().devices.map((d) => d.endpoint)).toEqual(['reboot-1']);
    // the old location is gone
    expect((await coapClient(['-m', 'post', `${base}/rd/${oldId}`])).finalCode).toBe('4.04');
  });
});

describe('coap-client: block-wise transfers (RFC 7959)', () => {
  it('Block2 GET of /.well-known/core with 16-byte blocks is byte-identical to a plain GET', async () => {
    // enough extra resources that the document spans many blocks
    for (let i = 0; i < 8; i++) live.server.addResource(`res-${i}`, () => ({ code: Code.CONTENT }));
    const plainFile = join(tmpdir(), `wk-plain-${process.pid}`);
    const blockFile = join(tmpdir(), `wk-block-${process.pid}`);
    try {
      const plain = await coapClient(['-o', plainFile, `${base}/.well-known/core`]);
      const blocks = await coapClient(['-b', '16', '-o', blockFile, `${base}/.well-known/core`]);
      expect(plain.finalCode).toBe('2.05');
      expect(plain.responses).toHaveLength(1);
      const plainBody = await readFile(plainFile);
      const blockBody = await readFile(blockFile);
      expect(plainBody.toString()).toContain('</rd>;rt="core.rd"');
      expect(plainBody.toString()).toContain('</res-7>');
      expect(blockBody.equals(plainBody)).toBe(true);
      // it really went block-wise: one 2.05 per 16-byte block, each with a Block2 option
      expect(blocks.responses).toHaveLength(Math.ceil(plainBody.length / 16));
      for (const [i, r] of blocks.responses.entries()) {
        expect(r.code).toBe('2.05');
        expect(optionValues(r, 'Block2')[0]).toMatch(new RegExp(`^${i}/[M_]/16$`));
      }
    } finally {
      await rm(plainFile, { force: true });
      await rm(blockFile, { force: true });
    }
  });

  it('a 5000-byte binary body arrives intact through server-initiated Block2 and at every client block size', async () => {
    const body = Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 131 + (i >> 8)) & 0xff));
    live.server.addResource('big', () => ({ code: Code.CONTENT, contentFormat: 42, payload: body }));
    for (const size of [undefined, '16', '64', '512', '1024']) {
      const file = join(tmpdir(), `big-${process.pid}-${size ?? 'auto'}`);
      try {
        const run = await coapClient([...(size ? ['-b', size] : []), '-o', file, `${base}/big`], 30_000);
        expect(run.finalCode, `${size}: ${run.stderr}`).toBe('2.05');
        const got = await readFile(file);
        expect(got.length, `block size ${size ?? 'server default'}`).toBe(body.length);
        expect(got.equals(body), `block size ${size ?? 'server default'}`).toBe(true);
        // the server sends at most 1024-byte blocks, and what the client asked for when smaller
        const expectedBlocks = Math.ceil(body.length / Math.min(Number(size ?? 1024), 1024));
        expect(run.responses, `block size ${size ?? 'server default'}`).toHaveLength(expectedBlocks);
      } finally {
        await rm(file, { force: true });
      }
    }
  });

  it('a Block1 registration upload of 60 objects with 16-byte blocks registers every object', async () => {
    const ids = Array.from({ length: 60 }, (_, i) => 1000 + i);
    const links = ids.map((id) => `</${id}/0>`).join(',');
    expect(links.length).toBeGreaterThan(16 * 30);
    const run = await registerRaw('block-1', links, '&lwm2m=1.1', ['-b', '16']);
    expect(run.finalCode, run.stdout + run.stderr).toBe('2.01');
    const first = run.pdus.find((p) => p.code === 'POST');
    expect(first && optionValues(first, 'Block1')[0]).toBe('0/M/16');
    const reg = await live.server.registrations.byEndpoint('block-1');
    expect(reg?.objectLinks.map((l) => l.path)).toEqual(ids.map((id) => [id, 0]));
    expect(locationOf(run)[1]).toBe(reg?.id);
  });
});

describe('coap-client: Block1 size limit (RFC 7959 §2.9.3)', () => {
  let small: LiveServer;
  beforeAll(async () => {
    small = await startLiveServer({ maxBodySize: 256 });
  });
  afterAll(async () => {
    await small?.close();
  });

  it('answers 4.13 with Size1 to a block-wise registration larger than maxBodySize', async () => {
    const links = Array.from({ length: 60 }, (_, i) => `</${1000 + i}/0>`).join(',');
    const run = await coapClient(['-m', 'post', '-t', '40', '-b', '16', '-e', links, `coap://127.0.0.1:${small.port}/rd?ep=too-big&lwm2m=1.1`]);
    expect(run.finalCode, run.stdout + run.stderr).toBe('4.13');
    const answer = run.responses.at(-1)!;
    expect(optionValues(answer, 'Size1')[0]).toBe('256');
    expect(await small.server.registrations.byEndpoint('too-big')).toBeUndefined();
  });
});

describe('coap-client: NON registration and block-wise update', () => {
  it('a NON registration gets a NON 2.01 (RFC 7252 §5.2.3)', async () => {
    const run = await coapClient(['-N', '-m', 'post', '-t', '40', '-e', '</1/0>,</3/0>', `${base}/rd?ep=non-1&lwm2m=1.1`]);
    const created = run.responses.find((r) => r.code === '2.01');
    expect(created?.type, run.stdout + run.stderr).toBe('NON');
    expect((await live.server.registrations.byEndpoint('non-1'))?.id).toBe(optionValues(created!, 'Location-Path')[1]);
  });

  it('an update with a long object list goes through Block1 and replaces the objects', async () => {
    const port = String(await freeUdpPort());
    const reg = await registerRaw('block-upd', '</1/0>,</3/0>', undefined, ['-p', port]);
    const id = locationOf(reg)[1]!;
    const ids = Array.from({ length: 40 }, (_, i) => 2000 + i);
    const upd = await coapClient(['-m', 'post', '-p', port, '-t', '40', '-b', '32', '-e', ids.map((x) => `</${x}/0>`).join(','), `${base}/rd/${id}?lt=90`]);
    expect(upd.finalCode, upd.stdout + upd.stderr).toBe('2.04');
    const stored = await live.server.registrations.byId(id);
    expect(stored?.lifetime).toBe(90);
    expect(stored?.objectLinks.map((l) => l.path)).toEqual(ids.map((x) => [x, 0]));
  });
});

describe('coap-client: Accept on /.well-known/core (RFC 7252 §5.10.4)', () => {
  it('Accept: 40 gets link format', async () => {
    const run = await coapClient(['-A', '40', `${base}/.well-known/core`]);
    expect(run.finalCode).toBe('2.05');
    expect(run.responses[0]!.options).toContain('Content-Format:application/link-format');
  });

  it('Accept: 50 (JSON), which the resource cannot produce, gets 4.06 Not Acceptable', async () => {
    // §5.10.4: "If the preferred Content-Format cannot be returned, then a 4.06 MUST be sent"
    const run = await coapClient(['-A', '50', `${base}/.well-known/core`]);
    expect(run.finalCode, run.stdout).toBe('4.06');
  });
});

describe('coap-client: separate response (RFC 7252 §5.2.2)', () => {
  it('a handler slower than the separate-response delay: empty ACK first, then a CON 2.05 the client accepts', async () => {
    live.server.addResource('slow', async () => {
      await new Promise((r) => setTimeout(r, 1500));
      return { code: Code.CONTENT, contentFormat: 0, payload: Buffer.from('late answer') };
    });
    const run = await coapClient([`${base}/slow`], 15_000, 7);
    const request = run.pdus[0]!;
    expect(request.code).toBe('GET');
    const emptyAck = run.pdus.find((p) => p.type === 'ACK' && p.code === '0.00' && p.mid === request.mid);
    expect(emptyAck, run.stdout).toBeDefined();
    const response = run.responses.find((p) => p.code === '2.05');
    expect(response?.type, run.stdout).toBe('CON');
    expect(response?.payload).toBe('late answer');
    expect(response?.token).toBe(request.token);
    expect(response?.mid).not.toBe(request.mid);
  });
});

describe('coap-client: version negotiation and rejected registrations', () => {
  it('answers 4.12 to lwm2m=1.3 so the client can retry lower (LWM2M-NOTES)', async () => {
    const run = await registerRaw('ver-13', '</1/0>', '&lwm2m=1.3');
    expect(run.finalCode).toBe('4.12');
    expect(await live.server.registrations.byEndpoint('ver-13')).toBeUndefined();
    // the retry with 1.1 succeeds
    expect((await registerRaw('ver-13', '</1/0>', '&lwm2m=1.1')).finalCode).toBe('2.01');
  });

  it('answers 4.00 to a registration without ep', async () => {
    const run = await coapClient(['-m', 'post', '-t', '40', '-e', '</1/0>', `${base}/rd?lt=60&lwm2m=1.1`]);
    expect(run.finalCode).toBe('4.00');
  });

  it('answers 4.15 to a text/plain registration payload', async () => {
    const run = await coapClient(['-m', 'post', '-t', '0', '-e', '</1/0>', `${base}/rd?ep=text-ct&lwm2m=1.1`]);
    expect(run.finalCode).toBe('4.15');
    expect(await live.server.registrations.byEndpoint('text-ct')).toBeUndefined();
  });
});

// ------------------------------------------------------------------ raw datagrams (RFC 7252 §3, §4)

const TOKEN = Buffer.from([0xca, 0xfe]);

function wellKnownGet(mid: number, extra: CoapMessage['options'] = [], type: CoapMessage['type'] = 'CON'): Buffer {
  return serializeMessage({
    type, code: 1, messageId: mid, token: TOKEN,
    options: [{ number: Option.URI_PATH, value: Buffer.from('.well-known') }, { number: Option.URI_PATH, value: Buffer.from('core') }, ...extra],
    payload: Buffer.alloc(0),
  });
}

/** The reply an RFC 7252 endpoint may give to a CON it cannot process: RST, or 4.02 (Californium's choice). */
function isRejection(r: Reply, mid: number): boolean {
  if (!r.msg || r.msg.messageId !== mid) return false;
  if (r.msg.type === 'RST' && r.msg.code === Code.EMPTY) return true;
  return r.msg.type === 'ACK' && r.msg.code === Code.BAD_OPTION;
}

describe('raw datagrams: malformed messages', () => {
  let probe: UdpProbe;
  beforeAll(async () => {
    probe = await UdpProbe.open({ address: '127.0.0.1', port: live.port });
  });
  afterAll(async () => {
    await probe?.close();
  });

  it('a well-formed GET over the raw socket is answered 2.05 (the probe itself works)', async () => {
    const replies = await probe.exchange(wellKnownGet(0x1000));
    expect(replies).toHaveLength(1);
    expect(replies[0]!.msg?.type).toBe('ACK');
    expect(codeText(replies[0]!.msg!.code)).toBe('2.05');
    expect(replies[0]!.msg!.token.equals(TOKEN)).toBe(true);
  });

  // CON requests whose header and token are readable but whose options are not: §3 message
  // format errors, rejected (§4.2) with RST, or answered 4.02; never processed
  const formatErrors: [string, (mid: number) => Buffer][] = [
    ['truncated option value', (mid) => Buffer.concat([wellKnownGet(mid).subarray(0, 6), Buffer.from([0xb5, 0x2e, 0x77])])],
    ['truncated extended option delta', (mid) => Buffer.from([0x42, 0x01, mid >> 8, mid & 0xff, 0xca, 0xfe, 0xd0])],
    ['truncated extended option length', (mid) => Buffer.from([0x42, 0x01, mid >> 8, mid & 0xff, 0xca, 0xfe, 0xbe, 0x00])],
    ['option delta nibble 15', (mid) => Buffer.from([0x42, 0x01, mid >> 8, mid & 0xff, 0xca, 0xfe, 0xf1, 0x41])],
    ['option length nibble 15', (mid) => Buffer.from([0x42, 0x01, mid >> 8, mid & 0xff, 0xca, 0xfe, 0xbf, 0x41])],
    ['payload marker with an empty payload', (mid) => Buffer.concat([wellKnownGet(mid), Buffer.from([0xff])])],
  ];
  for (const [name, build] of formatErrors) {
    it(`rejects a CON with ${name} (RST or 4.02, never a 2.xx)`, async () => {
      const mid = 0x2000 + formatErrors.findIndex(([n]) => n === name);
      const replies = await probe.exchange(build(mid));
      expect(replies, `${replies.length} replies`).toHaveLength(1);
      expect(isRejection(replies[0]!, mid), replies[0]!.raw.toString('hex')).toBe(true);
    });
  }

  it('drops or rejects a message with a reserved token length (9..15)', async () => {
    for (const tkl of [9, 12, 15]) {
      const data = Buffer.concat([Buffer.from([0x40 | tkl, 0x01, 0x30, tkl]), Buffer.alloc(15, 0xab)]);
      const replies = await probe.exchange(data, 150);
      // the token cannot be read, so no response can be matched to it: only an RST or silence
      for (const r of replies) expect(r.msg?.type).toBe('RST');
    }
  });

  it('answers a CON request with an unrecognized critical option with 4.02 (§5.4.1)', async () => {
    for (const number of [2049, 65001]) {
      const mid = 0x3000 + (number & 0xff);
      const replies = await probe.exchange(wellKnownGet(mid, [{ number, value: Buffer.from('x') }]));
      expect(replies).toHaveLength(1);
      expect(replies[0]!.msg?.type).toBe('ACK');
      expect(replies[0]!.msg?.messageId).toBe(mid);
      expect(codeText(replies[0]!.msg!.code)).toBe('4.02');
    }
    // an unrecognized elective (even) option is ignored (§5.4.1)
    const ok = await probe.exchange(wellKnownGet(0x3100, [{ number: 2050, value: Buffer.from('x') }]));
    expect(ok[0] && codeText(ok[0].msg!.code)).toBe('2.05');
  });

  it('answers a forward-proxy request (Proxy-Uri or Proxy-Scheme) with 5.05 Proxying Not Supported (§5.7.2)', async () => {
    // this server is no forward-proxy: §5.7.2 says it MUST answer 5.05, not serve the request itself
    const viaUri = await probe.exchange(serializeMessage({
      type: 'CON', code: 1, messageId: 0x3300, token: TOKEN, payload: Buffer.alloc(0),
      options: [{ number: Option.PROXY_URI, value: Buffer.from(`coap://127.0.0.1:${live.port}/.well-known/core`) }],
    }));
    expect(viaUri.map((r) => r.msg && codeText(r.msg.code))).toEqual(['5.05']);
    const viaScheme = await probe.exchange(wellKnownGet(0x3301, [{ number: Option.PROXY_SCHEME, value: Buffer.from('coap') }]));
    expect(viaScheme.map((r) => r.msg && codeText(r.msg.code))).toEqual(['5.05']);
  });

  it('answers an Empty CON (ping) with a matching RST (§4.3)', async () => {
    const replies = await probe.exchange(Buffer.from([0x40, 0x00, 0x44, 0x44]));
    expect(replies).toHaveLength(1);
    expect(replies[0]!.msg?.type).toBe('RST');
    expect(replies[0]!.msg?.messageId).toBe(0x4444);
  });

  it('does not answer garbage, short datagrams, other CoAP versions or stray ACKs', async () => {
    const garbage = [
      Buffer.alloc(0),
      Buffer.from([0x40]),
      Buffer.from([0x40, 0x01, 0x00]),
      Buffer.from([0x80, 0x01, 0x12, 0x34]), // version 2
      Buffer.from([0x00, 0x01, 0x12, 0x34]), // version 0
      Buffer.from([0x60, 0x45, 0x77, 0x77]), // an ACK 2.05 nobody waits for
      Buffer.from([0x70, 0x00, 0x77, 0x78]), // a stray RST
      Buffer.from('\x16\x03\x01\x00\x10 DTLS-ish'),
    ];
    for (const g of garbage) {
      const replies = await probe.exchange(g, 80);
      expect(replies.map((r) => r.raw.toString('hex')), g.toString('hex')).toEqual([]);
    }
  });

  it('rejects text that happens to start like a CON header (0x47 = v1 CON tkl 7) with RST, as §4.2 says', async () => {
    const replies = await probe.exchange(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    expect(replies).toHaveLength(1);
    expect(replies[0]!.msg?.type).toBe('RST');
    expect(replies[0]!.msg?.messageId).toBe(0x5420); // bytes 2-3: " /"
  });

  it('does not answer a NON request with an unrecognized critical option with a response (§5.4.1, §4.3)', async () => {
    // §5.4.1: in a NON message an unrecognized critical option "MUST cause the message to be
    // rejected"; rejecting a NON (§4.3) is an RST at most, never a 4.02 response
    const replies = await probe.exchange(wellKnownGet(0x3200, [{ number: 2049, value: Buffer.from('x') }], 'NON'));
    for (const r of replies) expect(r.msg && r.msg.type === 'RST' ? 'RST' : r.raw.toString('hex')).toBe('RST');
  });

  it('rejects a CON with a reserved code class (1.xx) without processing it', async () => {
    const replies = await probe.exchange(Buffer.from([0x40, 0x21, 0x55, 0x01]));
    for (const r of replies) expect(r.msg?.type).toBe('RST');
  });

  it('answers a retransmitted registration (same port, same Message ID) from the cache, registering once (§4.5)', async () => {
    const reg = serializeMessage({
      type: 'CON', code: 2, messageId: 0x5151, token: Buffer.from([7, 7]),
      options: [{ number: Option.URI_PATH, value: Buffer.from('rd') }, { number: Option.CONTENT_FORMAT, value: Buffer.from([40]) },
        { number: Option.URI_QUERY, value: Buffer.from('ep=dup-1') }, { number: Option.URI_QUERY, value: Buffer.from('lwm2m=1.1') }],
      payload: Buffer.from('</3/0>'),
    });
    const before = live.events.filter((e) => e.type === 'registration' && e.registration.endpoint === 'dup-1').length;
    const a = await probe.exchange(reg, 200);
    const b = await probe.exchange(reg, 200);
    expect(a).toHaveLength(1);
    expect(b).toHaveLength(1);
    expect(codeText(a[0]!.msg!.code)).toBe('2.01');
    expect(b[0]!.raw.equals(a[0]!.raw)).toBe(true);
    expect(live.events.filter((e) => e.type === 'registration' && e.registration.endpoint === 'dup-1').length - before).toBe(1);
  });

  it('answers a Block1 block that skips ahead with 4.08 Request Entity Incomplete (RFC 7959 §2.9.2)', async () => {
    const block = (mid: number, num: number, more: boolean, payload: string): Buffer => serializeMessage({
      type: 'CON', code: 2, messageId: mid, token: Buffer.from([8, num]),
      options: [{ number: Option.URI_PATH, value: Buffer.from('rd') }, { number: Option.CONTENT_FORMAT, value: Buffer.from([40]) },
        { number: Option.URI_QUERY, value: Buffer.from('ep=gap-1') }, { number: Option.BLOCK1, value: Buffer.from([(num << 4) | (more ? 8 : 0)]) }],
      payload: Buffer.from(payload),
    });
    const first = await probe.exchange(block(0x6000, 0, true, '</1/0>,</3/0>,</'), 200);
    expect(codeText(first[0]!.msg!.code)).toBe('2.31');
    const skipped = await probe.exchange(block(0x6001, 2, false, '5/0>'), 200);
    expect(codeText(skipped[0]!.msg!.code)).toBe('4.08');
    expect(await live.server.registrations.byEndpoint('gap-1')).toBeUndefined();
  });

  it('still registers a normal coap-client afterwards', async () => {
    const run = await registerRaw('after-malformed', '</1/0>,</3/0>');
    expect(run.finalCode).toBe('2.01');
    expect((await live.server.registrations.byEndpoint('after-malformed'))?.objectLinks).toHaveLength(2);
  });
});
