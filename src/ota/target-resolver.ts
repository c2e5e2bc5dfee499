// Which registered devices a deployment's selector names, read page by page from the registration
// store's endpoint index (issue 14: no API call loads the whole fleet at once or blocks the event
// loop for long). A prefix is a range of that byte-ordered index, so only its devices are read;
// explicit names are looked up one by one; no selector at all walks the index a page at a time.
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { RegistrationStore } from '../store/registration-store.ts';
import type { TargetSelector } from './deployment.ts';

/** registrations read per store call */
const PAGE = 1000;

/** Endpoint names matching the selector's names and prefix, in byte order (deviceModel is the caller's). */
export async function resolveTargets(store: RegistrationStore, sel: TargetSelector): Promise<string[]> {
  const prefix = sel.prefix ?? '';
  if (sel.endpoints) {
    const out: string[] = [];
    const wanted = [...new Set(sel.endpoints)].filter((e) => e.startsWith(prefix));
    for (let i = 0; i < wanted.length; i += PAGE) {
      if (i > 0) await yieldToLoop();
      const found = await Promise.all(wanted.slice(i, i + PAGE).map((e) => store.byEndpoint(e)));
      for (const r of found) if (r) out.push(r.endpoint);
    }
    return out.sort(byteOrder);
  }
  const out: string[] = [];
  // every other name with the prefix sorts after it (page() excludes its bound): look it up apart
  if (prefix !== '' && (await store.byEndpoint(prefix))) out.push(prefix);
  let after: string | undefined = prefix === '' ? undefined : prefix;
  for (;;) {
    const page = await store.page(after, PAGE);
    for (const r of page.registrations) {
      if (!r.endpoint.startsWith(prefix)) return out; // past the prefix's range
      out.push(r.endpoint);
    }
    if (page.next === undefined) return out;
    after = page.next;
    await yieldToLoop();
  }
}

function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}
