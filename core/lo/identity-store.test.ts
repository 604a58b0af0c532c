import fs from 'node:fs';
import path from 'node:path';
import { X509Certificate } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../lib/log/index.js';
import { tempHome } from '../../test/helpers/home.js';
import { canonicalHost, createSiteIdentity } from './identity-store.js';

const homes: { cleanup(): void }[] = [];
afterEach(() => homes.splice(0).forEach((h) => h.cleanup()));

describe('site identity: server TLS certificates', () => {
  it('keeps a fresh certificate across starts, IPv6 hosts included', async () => {
    const h = tempHome('outpost-identity-');
    homes.push(h);
    const identity = () =>
      createSiteIdentity({
        pkiDir: path.join(h.home, 'pki'),
        trustDomain: 'outpost.local',
        wfmId: 'outpost',
        siteName: 'plant',
        logger: silentLogger(),
      });
    const now = Date.now();
    await identity().initCa({ force: false, now });
    const hosts = ['localhost', '127.0.0.1', '::1'];
    const first = await identity().serverTls('nats', now, hosts);
    expect(new X509Certificate(first.certPem).subjectAltName).toContain('IP Address:0:0:0:0:0:0:0:1');
    // A later start (a new identity object, as after a restart) reuses it.
    const again = await identity().serverTls('nats', now + 60_000, [...hosts].reverse());
    expect(again.certPem).toBe(first.certPem);
    expect(fs.readFileSync(again.certFile, 'utf8')).toBe(first.certPem);
    // A host it does not name yet makes a new one.
    const more = await identity().serverTls('nats', now + 60_000, [...hosts, 'fd00::7']);
    expect(more.certPem).not.toBe(first.certPem);
    expect(new X509Certificate(more.certPem).subjectAltName).toContain('IP Address:FD00:0:0:0:0:0:0:7');
  });

  it('compares addresses in one form', () => {
    expect(canonicalHost('0:0:0:0:0:0:0:1')).toBe('::1');
    expect(canonicalHost('FD00:0:0:0:0:0:0:7')).toBe('fd00::7');
    expect(canonicalHost('127.0.0.1')).toBe('127.0.0.1');
    expect(canonicalHost('Outpost.Local')).toBe('outpost.local');
  });
});
