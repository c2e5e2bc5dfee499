// Runs libcoap's command-line client (coap-client-notls, Debian libcoap3-bin) and reads what it
// printed. With -v 6 it prints every PDU it sends and receives on stdout, one per line:
//   v:1 t:ACK c:2.01 i:6778 {01} [ Location-Path:rd, Location-Path:b_3kUDzh ] :: 'payload'
// Error responses (4.xx/5.xx) are also printed on stderr as "4.12 <diagnostic payload>".
import { execFile } from 'node:child_process';

export const COAP_CLIENT = process.env.COAP_CLIENT ?? 'coap-client-notls';

export type PrintedPdu = {
  type: 'CON' | 'NON' | 'ACK' | 'RST';
  /** "2.01", "GET", "POST", ... as printed */
  code: string;
  mid: number;
  token: string;
  options: string[];
  payload?: string;
  line: string;
};

export type CoapClientRun = {
  exitCode: number | null;
  stdout: string;
  stderr: string;
  pdus: PrintedPdu[];
  /** PDUs whose code is a response code (d.dd, not the Empty 0.00), in order */
  responses: PrintedPdu[];
  /** the last response code printed, e.g. "2.01"; undefined when none arrived */
  finalCode: string | undefined;
};

// a text payload is printed quoted; a binary one as "binary data length N" followed by dump lines
const PDU_LINE = /^v:1 t:(CON|NON|ACK|RST) c:(\S+) i:([0-9a-f]+) \{([0-9a-f]*)\} \[ ?(.*?) ?\](?: :: (?:'(.*)'|binary data length \d+))?$/;

export function parsePduLines(stdout: string): PrintedPdu[] {
  const out: PrintedPdu[] = [];
  for (const raw of stdout.split('\n')) {
    // coap-client writes a received payload to stdout without a newline, so the next PDU's line
    // can start right after it ("n=0v:1 t:CON ...")
    const at = raw.indexOf('v:1 t:');
    const line = at > 0 ? raw.slice(at) : raw;
    const m = PDU_LINE.exec(line);
    if (!m) continue;
    out.push({
      type: m[1] as PrintedPdu['type'],
      code: m[2]!,
      mid: parseInt(m[3]!, 16),
      token: m[4]!,
      options: m[5] ? m[5].split(', ') : [],
      payload: m[6],
      line,
    });
  }
  return out;
}

/** Values of one option as printed, e.g. optionValues(pdu, 'Location-Path') -> ['rd', 'abc']. */
export function optionValues(pdu: PrintedPdu, name: string): string[] {
  return pdu.options.filter((o) => o.startsWith(`${name}:`)).map((o) => o.slice(name.length + 1));
}

/**
 * Runs coap-client-notls with -v 6 and a 5 s CoAP wait (-B 5) under a hard process timeout.
 * Never rejects on a non-zero exit: the caller asserts on what came back.
 */
export function coapClient(args: readonly string[], timeoutMs = 15_000, verbosity = 6, binary = COAP_CLIENT): Promise<CoapClientRun> {
  return new Promise((resolve, reject) => {
    // -v 6 prints the PDUs with a code; -v 7 adds empty ACKs (both directions) and debug lines
    execFile(binary, ['-v', String(verbosity), '-B', '5', ...args], { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err && (err as NodeJS.ErrnoException).code === 'ENOENT') {
        reject(new Error(`${binary} is not installed (Debian: apt-get install libcoap3-bin)`));
        return;
      }
      const pdus = parsePduLines(stdout);
      const responses = pdus.filter((p) => /^\d\.\d\d$/.test(p.code) && p.code !== '0.00');
      const exitCode = err ? (typeof err.code === 'number' ? err.code : null) : 0;
      resolve({ exitCode, stdout, stderr, pdus, responses, finalCode: responses.at(-1)?.code });
    });
  });
}
