// A UDP relay between one client and a server for fault injection in tests: each datagram can be
// passed, dropped or replaced; the relay keeps what passed so a test can replay it.
import dgram from 'node:dgram';
import type { Peer } from '../../src/coap/transport.ts';

export type RelayVerdict = 'pass' | 'drop' | Buffer;
export type RelayDirection = 'toServer' | 'toClient';

export class UdpRelay {
  filter: (datagram: Buffer, direction: RelayDirection) => RelayVerdict = () => 'pass';
  droppedCount = 0;
  /** datagrams that went client -> server, in order */
  readonly sentToServer: Buffer[] = [];
  private client: Peer | undefined;

  private constructor(private readonly front: dgram.Socket, private back: dgram.Socket, private readonly server: Peer) {
    this.listenBack(back);
    front.on('message', (msg, rinfo) => {
      this.client = { address: rinfo.address, port: rinfo.port };
      const v = this.filter(msg, 'toServer');
      if (v === 'drop') {
        this.droppedCount++;
        return;
      }
      const out = v === 'pass' ? msg : v;
      this.sentToServer.push(out);
      this.back.send(out, server.port, server.address);
    });
  }

  private listenBack(back: dgram.Socket): void {
    back.on('message', (msg) => {
      if (!this.client) return;
      const v = this.filter(msg, 'toClient');
      if (v === 'drop') {
        this.droppedCount++;
        return;
      }
      this.front.send(v === 'pass' ? msg : v, this.client.port, this.client.address);
    });
  }

  /** The server now sees the client at a new port (a NAT rebinding). */
  async changeBackPort(): Promise<void> {
    const old = this.back;
    this.back = await bindOne();
    this.listenBack(this.back);
    old.close();
  }

  static async open(server: Peer): Promise<UdpRelay> {
    return new UdpRelay(await bindOne(), await bindOne(), server);
  }

  address(): Peer {
    const a = this.front.address();
    return { address: a.address, port: a.port };
  }

  /** Sends raw bytes to the server as if from the client (the relay's back socket). */
  inject(datagram: Buffer): void {
    this.back.send(datagram, this.server.port, this.server.address);
  }

  async close(): Promise<void> {
    await Promise.all([this.front, this.back].map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }
}

async function bindOne(): Promise<dgram.Socket> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', () => resolve()));
  return s;
}
