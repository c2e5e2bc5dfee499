// The Host names the API answers to (DNS rebinding defence): loopback names, the bind address,
// the public host; on a wildcard bind also this machine's name and interface addresses.
import os from 'node:os';

export function allowedHosts(bindHost: string, extra: readonly (string | undefined)[] = []): string[] {
  const hosts = new Set(['localhost', '127.0.0.1', '::1']);
  if (bindHost === '0.0.0.0' || bindHost === '::') {
    hosts.add(os.hostname().toLowerCase());
    for (const list of Object.values(os.networkInterfaces())) for (const a of list ?? []) hosts.add(a.address.toLowerCase());
  } else {
    hosts.add(bindHost.toLowerCase());
  }
  for (const h of extra) if (h) hosts.add(h.toLowerCase());
  return [...hosts];
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}
