import type { Logger } from '../log/index.js';
import { browse, type FoundService } from './browse.js';
import { LO_SERVICE, parseLoTxt, type LoAdvertisement } from './txt.js';

export interface DiscoveredLo extends LoAdvertisement {
  /** DNS-SD instance name. */
  instance: string;
  host: string;
  port: number;
  addresses: string[];
  /** The address the advertisement came from. */
  from: string | undefined;
}

export interface FindLosOptions {
  interfaces?: readonly string[];
  logger: Logger;
  /** Give up after this long without any LO (default 10 s). */
  timeoutMs?: number;
  /** After the first LO, wait this long for others (default 2 s), so a choice is not made on the fastest answer. */
  settleMs?: number;
  /** Stop waiting early once an LO of this site was seen (still after settleMs, to notice rivals). */
  siteId?: string;
  signal?: AbortSignal;
}

/** Browses `_outpost._tcp` and returns the LOs whose TXT record we understand, once per (instance, CA, URL). */
export async function findLos(options: FindLosOptions): Promise<DiscoveredLo[]> {
  const browser = await browse({
    type: LO_SERVICE,
    ...(options.interfaces ? { interfaces: options.interfaces } : {}),
    logger: options.logger,
  });
  try {
    const timeoutMs = options.timeoutMs ?? 10_000;
    const settleMs = options.settleMs ?? 2_000;
    const relevant = () =>
      los(browser.list()).filter((l) => options.siteId === undefined || l.siteId === options.siteId);
    await new Promise<void>((resolve) => {
      let settle: NodeJS.Timeout | undefined;
      const done = () => {
        clearTimeout(overall);
        clearTimeout(settle);
        clearInterval(check);
        options.signal?.removeEventListener('abort', done);
        resolve();
      };
      const overall = setTimeout(done, timeoutMs);
      const check = setInterval(() => {
        if (settle === undefined && relevant().length > 0) settle = setTimeout(done, settleMs);
      }, 100);
      options.signal?.addEventListener('abort', done);
    });
    return los(browser.list());
  } finally {
    await browser.stop();
  }
}

export function los(found: readonly FoundService[]): DiscoveredLo[] {
  const out = new Map<string, DiscoveredLo>();
  for (const s of found) {
    const a = parseLoTxt(s.txt);
    if (!a) continue;
    const key = `${s.fqdn}|${a.caFingerprint}|${a.mmiUrl}`;
    if (out.has(key)) continue;
    out.set(key, {
      ...a,
      instance: s.name,
      host: s.host,
      port: s.port,
      addresses: s.addresses,
      from: s.from,
    });
  }
  return [...out.values()];
}
