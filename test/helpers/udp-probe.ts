// Sends raw datagrams to the server from a fresh UDP socket and collects what comes back, parsed
// with the server's own strict parser (a reply we cannot parse is kept raw).
import dgram from 'node:dgram';
import type { CoapMessage } from '../../src/coap/message.ts';
import { parseMessage } from '../../src/coap/wire.ts';

export type Reply = { raw: Buffer; msg?: CoapMessage };

export class UdpProbe {
  private readonly replies: Reply[] = [];
  private constructor(private readonly socket: dgram.Socket, readonly target: { address: string; port: number }) {
    socket.on('message', (raw) => {
      let msg: CoapMessage | undefined;
      try {
        msg = parseMessage(raw);
      } catch {
        msg = undefined;
      }
      this.replies.push({ raw, msg });
    });
  }

  static async open(target: { address: string; port: number }): Promise<UdpProbe> {
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
    socket.on('error', () => undefined);
    return new UdpProbe(socket, target);
  }

  get port(): number {
    return this.socket.address().port;
  }

  send(data: Uint8Array): void {
    this.socket.send(data, this.target.port, this.target.address);
  }

  /** Sends one datagram and returns every reply that arrived within waitMs. */
  async exchange(data: Uint8Array, waitMs = 300): Promise<Reply[]> {
    const before = this.replies.length;
    this.send(data);
    await new Promise((r) => setTimeout(r, waitMs));
    return this.replies.slice(before);
  }

  /** Waits until a reply matches, or timeoutMs passes. */
  async waitFor(pred: (r: Reply) => boolean, timeoutMs = 2000): Promise<Reply | undefined> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.replies.find(pred);
      if (hit || Date.now() > end) return hit;
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  drain(): Reply[] {
    return this.replies.splice(0, this.replies.length);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}
