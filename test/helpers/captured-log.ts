// A pino logger whose lines a test can read back (to prove a secret never reaches the logs).
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';

export type CapturedLog = { log: Logger; lines: string[]; text(): string };

/** Without the production logger's redaction: the tests prove our code never logs a key at all. */
export function capturedLog(level: pino.LevelWithSilent = 'trace'): CapturedLog {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString('utf8'));
      done();
    },
  });
  return { log: pino({ level }, sink), lines, text: () => lines.join('') };
}

/** Every spelling of a key a careless log line could carry. */
export function keySpellings(key: Buffer): string[] {
  return [key.toString('hex'), key.toString('hex').toUpperCase(), key.toString('base64'), key.toString('base64url'), key.toString('latin1')];
}
