import { EventEmitter } from 'node:events';
import type { Logger } from '../log/index.js';
import { selectInterfaces } from './interfaces.js';

/**
 * Browses for one DNS-SD service type over mDNS with bonjour-service (a DNS-SD browser on multicast-dns):
 * it sends the PTR queries, collects PTR/SRV/TXT/A answers into services and removes them on goodbyes.
 * We only schedule its queries (again after 1, 2, 4 ... up to 60 s, as RFC 6762 section 5.2 asks of a
 * continuous querier) and expire records whose TTL ran out.
 */

export interface FoundService {
  /** Instance name. */
  name: string;
  /** `_outpost._tcp.local`-style fully qualified instance name (the key). */
  fqdn: string;
  /** SRV target host. */
  host: string;
  port: number;
  /** A records of the target (IPv4). */
  addresses: string[];
  txt: Record<string, string>;
  /** Address the answer came from. */
  from: string | undefined;
  /** Interface (its IPv4 address) the answer arrived on. */
  via: string;
  /** When it was last announced or answered (ms since the epoch). */
  lastSeen: number;
}

export interface BrowseOptions {
  /** Service name without underscores: `outpost` or `outpost-agent`. */
  type: string;
  /** Interface names or IPv4 addresses; empty: every interface (the kernel picks where queries go). */
  interfaces?: readonly string[];
  logger: Logger;
  now?: () => number;
}

export interface Browser {
  /** Every service currently known (one entry per instance and interface it was seen on). */
  list(): FoundService[];
  on(event: 'up' | 'down' | 'update', fn: (s: FoundService) => void): void;
  /** Asks the network again now. */
  refresh(): void;
  stop(): Promise<void>;
}

interface BonjourServiceLike {
  name: string;
  fqdn: string;
  host: string;
  port: number;
  addresses?: string[];
  txt?: Record<string, unknown>;
  referer?: { address: string };
  lastSeen?: number;
}
interface BonjourBrowserLike {
  on(event: string, fn: (s: BonjourServiceLike) => void): void;
  update(): void;
  expire(): void;
  stop(): void;
}
interface BonjourLike {
  find(opts: { type: string; protocol: 'tcp' }): BonjourBrowserLike;
  destroy(cb?: () => void): void;
}

export async function browse(options: BrowseOptions): Promise<Browser> {
  const log = options.logger.child({ component: 'mdns-browse', service: `_${options.type}._tcp` });
  const now = options.now ?? Date.now;
  const wanted = options.interfaces ?? [];
  // One socket per selected interface (multicast-dns joins the group on one interface when told which);
  // none selected: one socket that joins on every interface.
  const targets: (string | undefined)[] =
    wanted.length === 0 ? [undefined] : selectInterfaces(wanted).map((i) => i.ipv4);
  const { Bonjour } = (await import('bonjour-service')) as unknown as {
    Bonjour: new (opts: Record<string, unknown>, onError: (e: Error) => void) => BonjourLike;
  };
  const events = new EventEmitter();
  const found = new Map<string, FoundService>();
  const instances: { bonjour: BonjourLike; browser: BonjourBrowserLike }[] = [];
  const toFound = (s: BonjourServiceLike, via: string): FoundService => ({
    name: s.name,
    fqdn: s.fqdn,
    host: s.host,
    port: s.port,
    addresses: (s.addresses ?? []).filter((a) => !a.includes(':')),
    txt: Object.fromEntries(
      Object.entries(s.txt ?? {}).map(([k, v]) => [
        k,
        typeof v === 'string' ? v : v instanceof Uint8Array ? new TextDecoder().decode(v) : String(v),
      ]),
    ),
    from: s.referer?.address,
    via,
    lastSeen: s.lastSeen ?? now(),
  });
  for (const ip of targets) {
    const via = ip ?? 'any';
    const bonjour = new Bonjour(ip === undefined ? {} : { interface: ip, bind: '0.0.0.0' }, (err: Error) =>
      log.warn({ err: err.message, via }, 'mDNS socket error'),
    );
    const browser = bonjour.find({ type: options.type, protocol: 'tcp' });
    const key = (s: BonjourServiceLike) => `${s.fqdn}@${via}`;
    const put = (s: BonjourServiceLike, event: 'up' | 'update') => {
      const f = toFound(s, via);
      found.set(key(s), f);
      log.debug({ name: f.name, host: f.host, port: f.port, via }, `service ${event}`);
      events.emit(event, f);
    };
    browser.on('up', (s) => put(s, 'up'));
    browser.on('txt-update', (s) => put(s, 'update'));
    browser.on('srv-update', (s) => put(s, 'update'));
    browser.on('down', (s) => {
      const f = found.get(key(s));
      found.delete(key(s));
      if (f) events.emit('down', f);
    });
    instances.push({ bonjour, browser });
  }

  // Continuous querying: again after 1, 2, 4, ... seconds, then every minute; expired records go.
  let delay = 1000;
  let timer: NodeJS.Timeout | undefined;
  const tick = () => {
    for (const i of instances) {
      i.browser.expire();
      i.browser.update();
    }
    delay = Math.min(delay * 2, 60_000);
    timer = setTimeout(tick, delay);
    timer.unref();
  };
  timer = setTimeout(tick, delay);
  timer.unref();
  let stopped = false;

  return {
    list: () => [...found.values()],
    on: (event, fn) => void events.on(event, fn),
    refresh() {
      for (const i of instances) i.browser.update();
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      clearTimeout(timer);
      await Promise.all(
        instances.map(
          (i) =>
            new Promise<void>((resolve) => {
              i.browser.stop();
              i.bonjour.destroy(() => resolve());
            }),
        ),
      );
    },
  };
}
