// The API's error edge: every failure becomes { error, message, details } with the right status.
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { errorToJson } from '../json/error-json.ts';

export class ApiError extends Error {
  constructor(readonly status: number, readonly error: string, message: string, readonly details?: unknown) {
    super(message);
  }
}

export function toApiError(e: unknown): ApiError {
  if (e instanceof ApiError) return e;
  const known = errorToJson(e);
  if (known) return new ApiError(known.status, known.error, known.message, known.details);
  const fe = e as FastifyError;
  if (fe && fe.validation) return new ApiError(400, 'VALIDATION', fe.message, fe.validation);
  if (fe && typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    return new ApiError(fe.statusCode, fe.code ?? 'BAD_REQUEST', fe.message);
  }
  return new ApiError(500, 'INTERNAL', 'internal error');
}

/** An error message is echoed to the client: never the whole offending value (issue 14). */
export const MAX_ERROR_MESSAGE = 300;

export function boundedMessage(message: string): string {
  return message.length <= MAX_ERROR_MESSAGE ? message : `${message.slice(0, MAX_ERROR_MESSAGE)}… (${message.length} characters)`;
}

export function errorHandler(e: unknown, req: FastifyRequest, reply: FastifyReply): void {
  const err = toApiError(e);
  if (err.status >= 500 && err.error === 'INTERNAL') req.log.error({ err: e }, 'unhandled API error');
  // RFC 9110 §10.2.3: a 503 (store away, too many streams) and a 429 say when to come back
  if (err.status === 503 || err.status === 429) {
    const after = (err.details as { retryAfterS?: unknown } | undefined)?.retryAfterS;
    void reply.header('retry-after', String(typeof after === 'number' ? after : 5));
  }
  void reply.status(err.status).send({ error: err.error, message: boundedMessage(err.message), details: err.details ?? null });
}

export const errorSchema = {
  type: 'object',
  properties: { error: { type: 'string' }, message: { type: 'string' }, details: {} },
  required: ['error', 'message'],
} as const;
