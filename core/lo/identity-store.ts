import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { createKeyAndCsr } from '../../lib/x509/index.js';
import {
  createSiteCa,
  issueServerCertificate,
  issueSvid,
  loadSiteCa,
  saveSiteCa,
  type SiteCa,
} from '../ca/index.js';
import { wfmSpiffeId } from '../../lib/identity/index.js';
import { OutpostError } from '../../lib/errors/index.js';
import type { Logger } from '../../lib/log/index.js';

/**
 * The site's CA and the WFM's own server SVID, kept as PEM files under `<home>/pki/`:
 * `site-ca/ca.pem`, `site-ca/ca-key.pem` (0600), `wfm/cert.pem`, `wfm/key.pem` (0600).
 */
export interface SiteIdentity {
  ca(): SiteCa | undefined;
  requireCa(): SiteCa;
  /** Creates the CA (refused when one exists, unless forced). */
  initCa(options: { force: boolean; now: number }): Promise<SiteCa>;
  /** The WFM's server certificate and key, issued (or renewed when a third of its life is left). */
  wfmTls(now: number): Promise<{ certPem: string; keyPem: string; chainPem: string; anchorsPem: string[] }>;
  /**
   * Files for the embedded nats-server's TLS: a server certificate from the site CA for `hosts` (names
   * and addresses), renewed like the WFM's, and the CA file clients verify it with.
   */
  natsTls(now: number, hosts: string[]): Promise<{ certFile: string; keyFile: string; caFile: string }>;
  /**
   * A plain TLS server certificate from the site CA for `hosts` in `<pki>/<purpose>/` (`server.pem`,
   * `server-key.pem` 0600), issued again when a third of its life is left, when the CA changed, or when a
   * host is missing: the embedded nats-server's (`nats`) and the site registry's (`registry`).
   */
  serverTls(
    purpose: string,
    now: number,
    hosts: string[],
  ): Promise<{
    certFile: string;
    keyFile: string;
    caFile: string;
    certPem: string;
    keyPem: string;
    caPem: string;
  }>;
  readonly trustDomain: string;
  readonly wfmId: string;
  readonly wfmSpiffeId: string;
}

const WFM_TTL_SECONDS = 90 * 86_400;

export function createSiteIdentity(opts: {
  pkiDir: string;
  trustDomain: string;
  wfmId: string;
  siteName: string;
  logger: Logger;
}): SiteIdentity {
  const caDir = path.join(opts.pkiDir, 'site-ca');
  const wfmDir = path.join(opts.pkiDir, 'wfm');
  let cached: SiteCa | undefined;
  const wfmId = wfmSpiffeId(opts.trustDomain, opts.wfmId);

  const load = (): SiteCa | undefined => {
    if (cached) return cached;
    if (!fs.existsSync(path.join(caDir, 'ca.pem'))) return undefined;
    cached = loadSiteCa(caDir);
    if (cached.trustDomain !== opts.trustDomain) {
      throw new OutpostError(
        'invalid-config',
        `the site CA in ${caDir} is for trust domain "${cached.trustDomain}", but mmi.trustDomain is "${opts.trustDomain}"`,
      );
    }
    return cached;
  };

  const identity: SiteIdentity = {
    trustDomain: opts.trustDomain,
    wfmId: opts.wfmId,
    wfmSpiffeId: wfmId,
    ca: load,
    requireCa() {
      const ca = load();
      if (!ca)
        throw new OutpostError('not-found', 'the site CA is not initialised yet (edgectl site ca init)');
      return ca;
    },
    async initCa({ force, now }) {
      if (load() && !force) {
        throw new OutpostError(
          'already-exists',
          `a site CA already exists (fingerprint ${cached!.fingerprint}); use --force to replace it and invalidate every SVID it issued`,
        );
      }
      const ca = await createSiteCa({
        trustDomain: opts.trustDomain,
        name: `Outpost site CA ${opts.siteName}`,
        now,
      });
      saveSiteCa(caDir, ca, { force });
      if (force) fs.rmSync(wfmDir, { recursive: true, force: true });
      cached = ca;
      opts.logger.info({ fingerprint: ca.fingerprint }, 'site CA created');
      return ca;
    },
    async wfmTls(now) {
      const ca = identity.requireCa();
      const certFile = path.join(wfmDir, 'cert.pem');
      const keyFile = path.join(wfmDir, 'key.pem');
      let certPem: string | undefined;
      let keyPem: string | undefined;
      if (fs.existsSync(certFile) && fs.existsSync(keyFile)) {
        certPem = fs.readFileSync(certFile, 'utf8');
        keyPem = fs.readFileSync(keyFile, 'utf8');
        const cert = new X509Certificate(certPem);
        const notBefore = Date.parse(cert.validFrom);
        const notAfter = Date.parse(cert.validTo);
        const issuedByCa = cert.checkIssued(new X509Certificate(ca.certPem));
        if (!issuedByCa || now > notAfter - (notAfter - notBefore) / 3) certPem = undefined;
      }
      if (!certPem || !keyPem) {
        const kc = await createKeyAndCsr({});
        const svid = await issueSvid({
          ca,
          csrPem: kc.csrPem,
          spiffeId: wfmId,
          now,
          ttlSeconds: WFM_TTL_SECONDS,
        });
        fs.mkdirSync(wfmDir, { recursive: true, mode: 0o700 });
        writeAtomic(keyFile, kc.keyPem, 0o600);
        writeAtomic(certFile, svid.certPem, 0o644);
        certPem = svid.certPem;
        keyPem = kc.keyPem;
        opts.logger.info({ spiffeId: wfmId, notAfter: svid.notAfter }, 'WFM server SVID issued');
      }
      return { certPem, keyPem, chainPem: certPem + ca.certPem, anchorsPem: [ca.certPem] };
    },
    async natsTls(now, hosts) {
      const { certFile, keyFile, caFile } = await identity.serverTls('nats', now, hosts);
      return { certFile, keyFile, caFile };
    },
    async serverTls(purpose, now, hosts) {
      if (!/^[a-z][a-z0-9-]*$/.test(purpose))
        throw new OutpostError('internal', `bad TLS purpose "${purpose}"`);
      const ca = identity.requireCa();
      const dir = path.join(opts.pkiDir, purpose);
      const certFile = path.join(dir, 'server.pem');
      const keyFile = path.join(dir, 'server-key.pem');
      const caFile = path.join(caDir, 'ca.pem');
      const wanted = [...new Set(hosts)].sort();
      const fresh = (() => {
        if (!fs.existsSync(certFile) || !fs.existsSync(keyFile)) return false;
        const cert = new X509Certificate(fs.readFileSync(certFile));
        const notBefore = Date.parse(cert.validFrom);
        const notAfter = Date.parse(cert.validTo);
        const names = (cert.subjectAltName ?? '')
          .split(', ')
          .map((x) => canonicalHost(x.replace(/^(DNS|IP Address):/, '')));
        return (
          cert.checkIssued(new X509Certificate(ca.certPem)) &&
          now < notAfter - (notAfter - notBefore) / 3 &&
          wanted.every((h) => names.includes(canonicalHost(h)))
        );
      })();
      if (!fresh) {
        const ip = /^(\d{1,3}(\.\d{1,3}){3}|[0-9a-f:]+:[0-9a-f:]*)$/i;
        const c = await issueServerCertificate({
          ca,
          commonName: `outpost-${purpose}`,
          dnsNames: wanted.filter((h) => !ip.test(h)),
          ipAddresses: wanted.filter((h) => ip.test(h)),
          now,
          ttlSeconds: WFM_TTL_SECONDS,
        });
        fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
        writeAtomic(keyFile, c.keyPem, 0o600);
        writeAtomic(certFile, c.certPem, 0o644);
        opts.logger.info({ purpose, hosts: wanted, notAfter: c.notAfter }, 'server TLS certificate issued');
      }
      return {
        certFile,
        keyFile,
        caFile,
        certPem: fs.readFileSync(certFile, 'utf8'),
        keyPem: fs.readFileSync(keyFile, 'utf8'),
        caPem: ca.certPem,
      };
    },
  };
  return identity;
}

/**
 * A host name or address as a certificate's SAN and a wanted host can be compared: Node writes an IPv6
 * SAN in full (`0:0:0:0:0:0:0:1`) where the hosts say `::1`; without this every start issued new
 * certificates (issue 18).
 */
export function canonicalHost(h: string): string {
  if (!h.includes(':')) return h.toLowerCase();
  try {
    return new URL(`http://[${h}]/`).hostname.slice(1, -1);
  } catch {
    return h.toLowerCase();
  }
}

function writeAtomic(file: string, content: string, mode: number): void {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, content, { mode });
  fs.chmodSync(tmp, mode);
  fs.renameSync(tmp, file);
}
