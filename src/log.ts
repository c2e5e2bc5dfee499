// One pino root logger; components take child loggers (`log.child({ component: 'coap' })`).
// On a terminal the lines are for a person (pino-pretty: time, level, message, fields on one line);
// anywhere else (a pipe, a file, a log collector) they stay JSON, one object per line.
import { pino, type Logger } from 'pino';
import { PinoPretty } from 'pino-pretty';

/**
 * Defence in depth for issue 12 §2 (keys never logged): should a security info record or a request
 * body with a PSK ever reach a log call, its key is censored. Our code logs identities only.
 */
export const REDACTED_PATHS = ['key', '*.key', 'info.key', 'body.key', 'secretKey', '*.secretKey'];

export type LogFormat = 'auto' | 'json' | 'pretty';

export function createLogger(level = process.env.LOG_LEVEL ?? 'info', format: LogFormat = 'auto'): Logger {
  const pretty = format === 'pretty' || (format === 'auto' && process.stdout.isTTY === true);
  const options = { level, base: { service: 'tinymlaas' }, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } };
  if (!pretty) return pino(options);
  const stream = PinoPretty({
    colorize: true,
    singleLine: true,
    translateTime: 'SYS:HH:MM:ss',
    ignore: 'pid,hostname,service,component',
    messageFormat: '{if component}[{component}] {end}{msg}',
    // synchronous, so the last lines before exit are never lost
    sync: true,
  });
  return pino(options, stream);
}

/** For tests and benchmarks: errors only, unless LOG_LEVEL says otherwise. */
export const quietLogger: Logger = pino({ level: process.env.LOG_LEVEL ?? 'silent' });
