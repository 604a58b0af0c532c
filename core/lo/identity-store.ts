import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import {
  createKeyAndCsr,
  createSiteCa,
  issueSvid,
  loadSiteCa,
  saveSiteCa,
  wfmSpiffeId,
  type SiteCa,
} from '../identity/index.js';
import { OutpostError } from '../errors.js';
import type { Logger } from '../logger.js';

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
  };
  return identity;
}

function writeAtomic(file: string, content: string, mode: number): void {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, content, { mode });
  fs.chmodSync(tmp, mode);
  fs.renameSync(tmp, file);
}
