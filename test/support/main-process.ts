// src/main.ts as a child process (tsx), as an operator runs it; its pino lines are parsed from stdout
// (stderr, where the first admin token would be printed, is kept in `stderr()`).
import { spawn, type ChildProcess } from 'node:child_process';
import { freePort } from './services.ts';

export type Started = { proc: ChildProcess; http: string; coapPort: number; lines: Record<string, unknown>[]; exited: Promise<number | null>; stderr(): string };

export async function startMain(args: string[]): Promise<Started> {
  const httpPort = await freePort();
  // tests that are not about access run the open loopback API (--no-auth) unless they name an admin token file
  const auth = args.includes('--admin-token-file') ? [] : ['--no-auth'];
  const proc = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', '--coap-host', '127.0.0.1', '--coap-port', '0', '--http-port', String(httpPort), ...auth, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: Record<string, unknown>[] = [];
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  // 'close', not 'exit': stdout may still hold the last log lines when the process exits
  const exited = new Promise<number | null>((r) => proc.once('close', (code) => r(code)));
  const coapPort = await new Promise<number>((resolve, reject) => {
    let buf = '';
    proc.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = JSON.parse(buf.slice(0, nl)) as Record<string, unknown>;
        buf = buf.slice(nl + 1);
        lines.push(line);
        // with --no-plain only coaps listens
        if (line.msg === 'TinyMLaaS server started') resolve(((line.coap ?? line.coaps) as { port: number }).port);
      }
    });
    void exited.then((code) => reject(new Error(`main.ts exited with ${code}: ${stderr}`)));
  });
  return { proc, http: `http://127.0.0.1:${httpPort}`, coapPort, lines, exited, stderr: () => stderr };
}
