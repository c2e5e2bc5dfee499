// The CoAP endpoint's public shapes: requests and responses as the application sees them, the
// endpoint's options, counters and errors. Every layer of the stack speaks them.
import type { Logger } from 'pino';
import type { Block1Limits } from './block1-assembler.ts';
import type { CoapOption } from './message.ts';
import type { CoapTiming } from './timing.ts';
import type { DatagramTransport, Peer } from './transport.ts';

export type InboundRequest = {
  readonly peer: Peer;
  readonly method: number;
  readonly path: readonly string[];
  readonly query: readonly string[];
  readonly options: readonly CoapOption[];
  readonly payload: Buffer;
  readonly token: Buffer;
  readonly confirmable: boolean;
  readonly contentFormat?: number;
  readonly accept?: number;
  readonly observe?: number;
};

export type OutboundResponse = {
  readonly code: number;
  readonly payload?: Buffer;
  readonly contentFormat?: number;
  readonly options?: readonly CoapOption[];
};

export type RequestHandler = (req: InboundRequest) => Promise<OutboundResponse> | OutboundResponse;

export type ClientRequest = {
  readonly method: number;
  readonly path?: readonly string[];
  readonly query?: readonly string[];
  readonly payload?: Buffer;
  readonly contentFormat?: number;
  readonly accept?: number;
  /** 0 registers an observation (RFC 7641 §2), 1 cancels one */
  readonly observe?: 0 | 1;
  readonly options?: readonly CoapOption[];
  readonly confirmable?: boolean;
  /** block size for Block1 uploads and the Block2 size we ask for */
  readonly blockSize?: number;
  readonly timeoutMs?: number;
  readonly token?: Buffer;
};

export type ClientResponse = {
  readonly code: number;
  readonly options: readonly CoapOption[];
  /** the whole body, block-wise transfers already reassembled */
  readonly payload: Buffer;
  readonly contentFormat?: number;
  readonly observe?: number;
  readonly token: Buffer;
  readonly peer: Peer;
};

export class CoapRequestError extends Error {
  constructor(readonly code: 'TIMEOUT' | 'RESET' | 'CANCELLED' | 'BLOCKWISE' | 'TOO_LARGE', message: string) {
    super(message);
  }
}

export type Notification = ClientResponse;
export type NotificationListener = (n: Notification) => void;

export type EndpointOptions = {
  transport: DatagramTransport;
  log: Logger;
  timing?: Partial<CoapTiming>;
  /** largest request body accepted through Block1; more answers 4.13 (RFC 7959 §2.9.3) */
  maxBodySize?: number;
  /** bounds on Block1 reassemblies under way (per peer, in total, bytes) */
  block1Limits?: Partial<Block1Limits>;
  /** our preferred block size for bodies we send (16..1024) */
  blockSize?: number;
  /**
   * Extra rounds of the RFC 7252 §4.2 retransmission series (same Message ID, so the peer's
   * deduplication keeps it idempotent) for each exchange of a block-wise transfer: one lost
   * exchange would otherwise lose the whole transfer. Default 2.
   */
  blockRetryRounds?: number;
  /** hook before a datagram goes out (fault injection in simulators); return false to drop it */
  outboundFilter?: (data: Buffer, peer: Peer) => boolean;
  /** hook for every inbound datagram; return false to drop it */
  inboundFilter?: (data: Buffer, peer: Peer) => boolean;
};

export type EndpointStats = {
  datagramsIn: number;
  datagramsOut: number;
  malformed: number;
  duplicates: number;
  retransmissions: number;
  blockBytesIn: number;
  blockBytesOut: number;
  /** new Block1 transfers refused by a bound (5.03) */
  block1Refused: number;
};

export type DrainResult = { drained: boolean; remaining: number; inbound: number; requests: number; confirmables: number };

