// An Update whose object links carry no ct= keeps the content formats the device declared when it
// registered (LWM2M-NOTES); one that declares new formats replaces them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Code, Method, Option, getOptions, type CoapMessage } from '../../src/coap/message.ts';
import { serializeMessage } from '../../src/coap/wire.ts';
import { UdpProbe } from '../helpers/udp-probe.ts';
import { startHarness, type Harness } from './harness.ts';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => h.close());

let mid = 0x3000;
function post(path: string[], query: string[], links: string): CoapMessage {
  const options = [...path.map((p) => ({ number: Option.URI_PATH, value: Buffer.from(p) })), { number: Option.CONTENT_FORMAT, value: Buffer.from([40]) }, ...query.map((q) => ({ number: Option.URI_QUERY, value: Buffer.from(q) }))];
  return { type: 'CON', code: Method.POST, messageId: ++mid, token: Buffer.from([mid & 0xff]), options, payload: Buffer.from(links) };
}

describe('Update object links and ct=', () => {
  it('keeps the declared formats when the Update links have no ct=, replaces them when they do', async () => {
    const probe = await UdpProbe.open({ address: '127.0.0.1', port: h.server.coapAddress.port });
    try {
      const reg = post(['rd'], ['ep=ct-keep', 'lt=300', 'lwm2m=1.1'], '</>;rt="oma.lwm2m";ct="112 110",</1/0>,</3/0>');
      probe.send(serializeMessage(reg));
      const created = await probe.waitFor((r) => r.msg?.messageId === reg.messageId && r.msg.code === Code.CREATED, 5000);
      const location = getOptions(created!.msg!, Option.LOCATION_PATH).map((b) => b.toString());
      const formats = async (): Promise<number[]> => (await h.api.inject({ method: 'GET', url: '/devices/ct-keep' })).json().contentFormats;
      expect(await formats()).toEqual([112, 110]);
      const upd = post(location, [], '</1/0>,</3/0>,</5/0>');
      probe.send(serializeMessage(upd));
      expect(await probe.waitFor((r) => r.msg?.messageId === upd.messageId && r.msg.code === Code.CHANGED, 5000)).toBeDefined();
      expect(await formats()).toEqual([112, 110]);
      const links = (await h.api.inject({ method: 'GET', url: '/devices/ct-keep' })).json().objectLinks as string[] | { path: string }[];
      expect(JSON.stringify(links)).toContain('5');
      const upd2 = post(location, [], '</>;rt="oma.lwm2m";ct=11543,</1/0>,</3/0>');
      probe.send(serializeMessage(upd2));
      expect(await probe.waitFor((r) => r.msg?.messageId === upd2.messageId && r.msg.code === Code.CHANGED, 5000)).toBeDefined();
      expect(await formats()).toEqual([11543]);
    } finally {
      await probe.close();
    }
  });
});
