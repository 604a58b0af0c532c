import type { Logger } from '../log/index.js';
import { OutpostError } from '../errors/index.js';
import { selectInterfaces } from './interfaces.js';
import type { Txt } from './txt.js';

/**
 * Advertises one DNS-SD service over mDNS with @homebridge/ciao (an RFC 6762/6763 responder that passes
 * Apple's Bonjour conformance test: probing, conflict renaming, announcements, goodbyes). We never build
 * mDNS packets ourselves. The responder shares UDP 5353 with other responders on the host (SO_REUSEADDR,
 * RFC 6762 section 15), so Avahi may run beside it.
 */

export interface AdvertiseOptions {
  /** The service name without underscores or protocol: `outpost` or `outpost-agent`. */
  type: string;
  /** Instance name shown in browsers (`Outpost LO plant-7`); the responder renames it on a conflict. */
  name: string;
  port: number;
  txt: Txt;
  /** Interface names or IPv4 addresses; empty: every non-loopback interface with an IPv4 address. */
  interfaces?: readonly string[];
  logger: Logger;
}

export interface Advertisement {
  /** The instance name in use (after any conflict renaming). */
  readonly name: () => string;
  /** The interfaces advertised on. */
  readonly interfaces: readonly string[];
  updateTxt(txt: Txt): Promise<void>;
  /** Sends goodbye packets and closes the sockets. */
  stop(): Promise<void>;
}

interface CiaoServiceLike {
  name: string;
  advertise(): Promise<void>;
  updateTxt(txt: Txt, silent?: boolean): void;
  end(): Promise<void>;
  destroy(): Promise<void>;
  on(event: 'name-change', fn: (name: string) => void): unknown;
}

export async function advertise(options: AdvertiseOptions): Promise<Advertisement> {
  const log = options.logger.child({ component: 'mdns-advertise', service: `_${options.type}._tcp` });
  if (!/^[a-z0-9](?:[a-z0-9-]{0,13}[a-z0-9])?$/.test(options.type))
    throw new OutpostError('invalid-input', `"${options.type}" is not a DNS-SD service name (RFC 6335)`);
  const selected = selectInterfaces(options.interfaces ?? []);
  if (selected.length === 0) {
    throw new OutpostError(
      'invalid-config',
      'discovery: no network interface with an IPv4 address to advertise on (loopback is not advertised on)',
    );
  }
  const names = selected.map((i) => i.name);
  // Loaded on first use: ciao installs source-map support and reads its debug settings when imported.
  const ciao = await import('@homebridge/ciao');
  const responder = ciao.getResponder({ interface: names, disableIpv6: true });
  let service: CiaoServiceLike;
  try {
    service = responder.createService({
      name: options.name,
      type: options.type,
      port: options.port,
      txt: options.txt,
      restrictedAddresses: names,
      disabledIpv6: true,
    }) as unknown as CiaoServiceLike;
    service.on('name-change', (name) =>
      log.warn({ name }, 'another host advertises our instance name; advertising under a new name'),
    );
    await service.advertise();
  } catch (cause) {
    await responder.shutdown().catch(() => undefined);
    throw new OutpostError('internal', `mDNS advertisement failed: ${(cause as Error).message}`, { cause });
  }
  log.info({ name: service.name, interfaces: names, port: options.port }, 'advertising over mDNS');
  let stopped = false;
  return {
    name: () => service.name,
    interfaces: names,
    async updateTxt(txt) {
      if (!stopped) service.updateTxt(txt);
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      try {
        await service.end();
        await service.destroy();
      } finally {
        await responder.shutdown();
      }
      log.info({ name: service.name }, 'mDNS advertisement withdrawn');
    },
  };
}
