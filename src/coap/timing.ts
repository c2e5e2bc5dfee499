// Transmission parameters (RFC 7252 §4.8) and the derived times (§4.8.2).

export type CoapTiming = {
  ackTimeoutMs: number;
  ackRandomFactor: number;
  maxRetransmit: number;
  /** how long a request may wait for its (possibly separate) response in total */
  requestTimeoutMs: number;
  /** answer with an empty ACK when the handler takes longer than this (§5.2.2 separate response) */
  separateResponseAfterMs: number;
};

export const defaultTiming: CoapTiming = {
  ackTimeoutMs: 2000,
  ackRandomFactor: 1.5,
  maxRetransmit: 4,
  requestTimeoutMs: 60_000,
  separateResponseAfterMs: 1000,
};

/** EXCHANGE_LIFETIME (§4.8.2): 247 s with the default parameters. */
export function exchangeLifetimeMs(t: CoapTiming): number {
  const maxTransmitSpan = t.ackTimeoutMs * (2 ** t.maxRetransmit - 1) * t.ackRandomFactor;
  const maxLatency = 100_000;
  const processingDelay = t.ackTimeoutMs;
  return maxTransmitSpan + 2 * maxLatency + processingDelay;
}
