// Per-peer affinity for several worker processes reading one UDP socket (--workers, docs/cluster.md).
//
// Node's cluster module hands every worker the primary's UDP handle and the kernel gives each
// datagram to whichever worker reads first, so one device's datagrams spread over the workers.
// Everything the CoAP layer keeps per peer must live in one process: deduplication of a
// retransmitted CON (RFC 7252 §4.5), Block1 reassembly and Block2 continuations (RFC 7959 §2.3,
// §2.4), the answers to the server's own requests and notifications of its observations
// (RFC 7641 §3). So each peer has an owner, slot = hash(address:port) mod slots. A worker that
// reads a datagram it does not own relays it (with the device's address, src/coap/relay-frame.ts)
// to the owner's relay socket on loopback; the owner handles it as if it had read it itself and
// answers on the shared socket, so the device hears the source port it talks to.
import dgram from 'node:dgram';
import { decodeRelayFrame, relayHeader } from './relay-frame.ts';
import { literalLookup, type DatagramTransport, type Peer } from './transport.ts';

export type AffinityStats = {
  /** datagrams this worker read for another worker and relayed */
  relayedOut: number;
  /** datagrams another worker relayed here */
  relayedIn: number;
  /** datagrams for a slot whose worker is not running (restarting): dropped, the device retransmits */
  ownerAway: number;
  /** datagrams on the relay socket from anything but a worker's relay socket, or malformed: dropped */
  refused: number;
};

/** FNV-1a over the address and port: cheap, stable across processes, spreads ports well. */
export function ownerSlot(peer: Peer, slots: number): number {
  if (slots <= 1) return 0;
  let h = 0x811c9dc5;
  const a = peer.address;
  for (let i = 0; i < a.length; i++) h = Math.imul(h ^ a.charCodeAt(i), 0x01000193);
  h = Math.imul(h ^ (peer.port >>> 8), 0x01000193);
  h = Math.imul(h ^ (peer.port & 0xff), 0x01000193);
  return (h >>> 0) % slots;
}

const LOOPBACK = '127.0.0.1';

export class AffinityTransport implements DatagramTransport {
  readonly stats: AffinityStats = { relayedOut: 0, relayedIn: 0, ownerAway: 0, refused: 0 };
  /** relay port of each slot's worker; undefined while that worker is not running */
  private relays: (number | undefined)[];
  /** the relay ports of the other workers: the only sources a relayed frame is taken from */
  private trusted = new Set<number>();
  private listener: (data: Buffer, peer: Peer) => void = () => undefined;

  private constructor(
    private readonly shared: DatagramTransport,
    private readonly relay: dgram.Socket,
    readonly slot: number,
    readonly slots: number,
  ) {
    this.relays = new Array<number | undefined>(slots).fill(undefined);
    this.relays[slot] = this.relayPort;
    shared.onDatagram((data, peer) => this.fromShared(data, peer));
    relay.on('message', (frame, rinfo) => this.fromRelay(frame, rinfo));
  }

  /**
   * `shared`: the UDP socket every worker reads (bound through the cluster module). The relay
   * socket is this process's own (exclusive: the cluster module must not share it).
   */
  static async open(shared: DatagramTransport, slot: number, slots: number): Promise<AffinityTransport> {
    if (!Number.isInteger(slots) || slots < 1 || !Number.isInteger(slot) || slot < 0 || slot >= slots) throw new RangeError(`slot ${slot} of ${slots}`);
    const relay = dgram.createSocket({ type: 'udp4', lookup: literalLookup });
    await new Promise<void>((resolve, reject) => {
      relay.once('error', reject);
      relay.bind({ port: 0, address: LOOPBACK, exclusive: true }, () => {
        relay.off('error', reject);
        resolve();
      });
    });
    relay.on('error', () => undefined);
    // a registration burst is relayed in bursts too: the kernel default (~208 KiB) overflows
    try {
      relay.setRecvBufferSize(4 * 1024 * 1024);
    } catch {
      // capped by net.core.rmem_max: the smaller buffer still works
    }
    return new AffinityTransport(shared, relay, slot, slots);
  }

  get relayPort(): number {
    return this.relay.address().port;
  }

  /** The relay port of every slot's worker (from the primary); null for a worker not running. */
  setRelays(ports: readonly (number | null)[]): void {
    if (ports.length !== this.slots) throw new RangeError(`relay table of ${ports.length} slots, expected ${this.slots}`);
    this.relays = ports.map((p, i) => (i === this.slot ? this.relayPort : p ?? undefined));
    this.trusted = new Set(this.relays.filter((p, i): p is number => p !== undefined && i !== this.slot));
  }

  send(data: Buffer, peer: Peer): void {
    this.shared.send(data, peer);
  }

  onDatagram(listener: (data: Buffer, peer: Peer) => void): void {
    this.listener = listener;
  }

  address(): Peer {
    return this.shared.address();
  }

  async close(): Promise<void> {
    await Promise.all([this.shared.close(), new Promise<void>((resolve) => this.relay.close(() => resolve()))]);
  }

  private fromShared(data: Buffer, peer: Peer): void {
    const owner = ownerSlot(peer, this.slots);
    if (owner === this.slot) {
      this.listener(data, peer);
      return;
    }
    const port = this.relays[owner];
    if (port === undefined) {
      this.stats.ownerAway++;
      return;
    }
    this.stats.relayedOut++;
    // header and datagram as two buffers: one sendmsg, no copy
    this.relay.send([relayHeader(peer), data], port, LOOPBACK);
  }

  private fromRelay(frame: Buffer, rinfo: dgram.RemoteInfo): void {
    // only another worker's relay socket (bound exclusively by that worker, so no other process can
    // send from its port) may speak for a device; anyone else could forge the address in the header
    if (rinfo.address !== LOOPBACK || !this.trusted.has(rinfo.port)) {
      this.stats.refused++;
      return;
    }
    const decoded = decodeRelayFrame(frame);
    // a frame for a peer this worker does not own would split the peer's state again: never handle it
    if (!decoded || ownerSlot(decoded.peer, this.slots) !== this.slot) {
      this.stats.refused++;
      return;
    }
    this.stats.relayedIn++;
    this.listener(decoded.data, decoded.peer);
  }
}
