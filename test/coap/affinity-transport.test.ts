// The affinity layer of --workers on real UDP sockets in one process: two "workers", each with its
// own socket standing in for the shared one, relay to each other by the peer's owner slot; frames
// on a relay socket from anything but a worker's relay socket are refused.
import dgram from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { AffinityTransport, ownerSlot } from '../../src/coap/affinity-transport.ts';
import { decodeRelayFrame, relayHeader } from '../../src/coap/relay-frame.ts';
import { UdpTransport, type Peer } from '../../src/coap/transport.ts';
import { waitUntil } from '../support/wait.ts';

const open: { close(): unknown }[] = [];
afterEach(async () => {
  for (const o of open.splice(0)) await o.close();
});

async function worker(slot: number): Promise<{ t: AffinityTransport; got: { data: string; peer: Peer }[] }> {
  const shared = await UdpTransport.open({ host: '127.0.0.1', port: 0 });
  const t = await AffinityTransport.open(shared, slot, 2);
  open.push(t);
  const got: { data: string; peer: Peer }[] = [];
  t.onDatagram((data, peer) => got.push({ data: data.toString(), peer }));
  return { t, got };
}

/** A device socket whose address:port belongs to `slot` of 2. */
async function deviceOwnedBy(slot: number): Promise<dgram.Socket> {
  for (;;) {
    const s = dgram.createSocket('udp4');
    await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
    if (ownerSlot({ address: '127.0.0.1', port: s.address().port }, 2) === slot) {
      open.push({ close: () => new Promise<void>((r) => s.close(() => r())) });
      return s;
    }
    s.close();
  }
}

describe('AffinityTransport', () => {
  it('hands a datagram to its owner: directly when read there, relayed with the device address otherwise', async () => {
    const [a, b] = [await worker(0), await worker(1)];
    a.t.setRelays([a.t.relayPort, b.t.relayPort]);
    b.t.setRelays([a.t.relayPort, b.t.relayPort]);
    const ofA = await deviceOwnedBy(0);
    const ofB = await deviceOwnedBy(1);
    // both devices talk to worker a's socket: the kernel chose a for both
    ofA.send('to-a', a.t.address().port, '127.0.0.1');
    ofB.send('to-b', a.t.address().port, '127.0.0.1');
    await waitUntil('both delivered', () => a.got.length === 1 && b.got.length === 1);
    expect(a.got).toEqual([{ data: 'to-a', peer: { address: '127.0.0.1', port: ofA.address().port } }]);
    expect(b.got).toEqual([{ data: 'to-b', peer: { address: '127.0.0.1', port: ofB.address().port } }]);
    expect(a.t.stats).toMatchObject({ relayedOut: 1, relayedIn: 0, refused: 0 });
    expect(b.t.stats).toMatchObject({ relayedOut: 0, relayedIn: 1, refused: 0 });
    // the owner answers on its own (shared) socket, to the device's real address
    const answer = new Promise<{ data: string; port: number }>((r) => ofB.once('message', (m, rinfo) => r({ data: m.toString(), port: rinfo.port })));
    b.t.send(Buffer.from('reply'), b.got[0]!.peer);
    expect(await answer).toEqual({ data: 'reply', port: b.t.address().port });
  });

  it('refuses a relay frame from a socket that is not a worker\'s relay socket, however well formed', async () => {
    const [a, b] = [await worker(0), await worker(1)];
    a.t.setRelays([a.t.relayPort, b.t.relayPort]);
    b.t.setRelays([a.t.relayPort, b.t.relayPort]);
    const spoofer = await deviceOwnedBy(1);
    // claims to come from a device owned by b, from an outside socket
    const forged = { address: '10.9.8.7', port: 5683 };
    const forgedOwnedByB = ownerSlot(forged, 2) === 1 ? forged : { address: '10.9.8.7', port: 5684 };
    spoofer.send(Buffer.concat([relayHeader(forgedOwnedByB), Buffer.from('forged')]), b.t.relayPort, '127.0.0.1');
    spoofer.send(Buffer.from('garbage'), b.t.relayPort, '127.0.0.1');
    await waitUntil('both refused', () => b.t.stats.refused === 2);
    expect(b.got).toEqual([]);
    expect(b.t.stats.relayedIn).toBe(0);
  });

  it('drops (and counts) a datagram whose owner is not running; a device retransmits', async () => {
    const a = await worker(0);
    a.t.setRelays([a.t.relayPort, null]);
    const ofB = await deviceOwnedBy(1);
    ofB.send('lost', a.t.address().port, '127.0.0.1');
    await waitUntil('counted', () => a.t.stats.ownerAway === 1);
    expect(a.got).toEqual([]);
  });
});

describe('ownerSlot', () => {
  it('spreads the ports of one address evenly and is stable', () => {
    const counts = [0, 0, 0];
    for (let port = 30000; port < 33000; port++) counts[ownerSlot({ address: '127.0.0.2', port }, 3)]!++;
    for (const c of counts) expect(c).toBeGreaterThan(900);
    expect(ownerSlot({ address: '192.0.2.1', port: 40000 }, 2)).toBe(ownerSlot({ address: '192.0.2.1', port: 40000 }, 2));
    expect(ownerSlot({ address: '192.0.2.1', port: 40000 }, 1)).toBe(0);
  });
});

describe('relay frames', () => {
  it('carry the peer and the datagram; anything malformed decodes to nothing', () => {
    const peer = { address: '2001:db8::1', port: 61000 };
    const frame = Buffer.concat([relayHeader(peer), Buffer.from([1, 2, 3])]);
    expect(decodeRelayFrame(frame)).toEqual({ peer, data: Buffer.from([1, 2, 3]) });
    expect(decodeRelayFrame(Buffer.alloc(0))).toBeUndefined();
    expect(decodeRelayFrame(Buffer.from([0x00, 1, 0, 1, 0x31]))).toBeUndefined(); // wrong magic
    expect(decodeRelayFrame(Buffer.from([0xa7, 40, 0, 1, 0x31]))).toBeUndefined(); // address past the end
    expect(decodeRelayFrame(Buffer.from([0xa7, 1, 0, 0, 0x31]))).toBeUndefined(); // port 0
    expect(decodeRelayFrame(Buffer.from([0xa7, 0, 0, 1]))).toBeUndefined(); // empty address
    expect(() => relayHeader({ address: 'x'.repeat(65), port: 1 })).toThrow(RangeError);
  });
});
