// One pino root logger; components take child loggers (`log.child({ component: 'coap' })`).
import { pino, type Logger } from 'pino';

export function createLogger(level = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino({ level, base: { service: 'tinymlaas' } });
}

/** For tests and benchmarks: errors only, unless LOG_LEVEL says otherwise. */
export const quietLogger: Logger = pino({ level: process.env.LOG_LEVEL ?? 'silent' });
