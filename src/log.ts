// One pino root logger; components take child loggers (`log.child({ component: 'coap' })`).
import { pino, type Logger } from 'pino';

/**
 * Defence in depth for issue 12 §2 (keys never logged): should a security info record or a request
 * body with a PSK ever reach a log call, its key is censored. Our code logs identities only.
 */
export const REDACTED_PATHS = ['key', '*.key', 'info.key', 'body.key', 'secretKey', '*.secretKey'];

export function createLogger(level = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino({ level, base: { service: 'tinymlaas' }, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } });
}

/** For tests and benchmarks: errors only, unless LOG_LEVEL says otherwise. */
export const quietLogger: Logger = pino({ level: process.env.LOG_LEVEL ?? 'silent' });
