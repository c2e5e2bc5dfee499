// A store that cannot be reached (Redis down, timed out). The CoAP edge answers 5.03 Service
// Unavailable, the API 503, so a device retries later and an operator sees why.
export class StoreUnavailableError extends Error {
  readonly code = 'STORE_UNAVAILABLE';
  constructor(message: string, cause?: unknown) {
    super(message, { cause });
  }
}
