import { generateKeyPairSync } from 'node:crypto';
import { systemClock, type Clock } from '../../../lib/base/index.js';
import { silentLogger, type Logger } from '../../../lib/log/index.js';
import { createSiteCa, issueSvid, type SiteCa } from '../../ca/index.js';
import { wfmSpiffeId } from '../../../lib/identity/index.js';
import type { MmiConformanceFixture } from '../conformance/fixture.js';
import { createMmiServer, type CreateMmiServerInput, type MmiServer } from '../server.js';
import { createMemoryMmiBackend, type MemoryMmiBackend } from './memory-backend.js';

/**
 * A whole WFM in a box for tests: a fresh site CA, the WFM's SVID, the in-memory backend and the MMI server
 * on a free loopback port. Implements the conformance fixture, and gives tests the backend and the server
 * for anything else (agent tests can point an agent at `baseUrl`).
 */

export interface MemoryMmiOptions {
  trustDomain?: string;
  wfmId?: string;
  basePath?: string;
  clock?: Clock;
  logger?: Logger;
  /** Any other server option (untrustedCertificate, maxConnectionAgeMs, enrollFailures, ...). */
  server?: Partial<Omit<CreateMmiServerInput, 'backend' | 'tls' | 'trustDomain' | 'wfmId' | 'basePath'>>;
}

export interface MemoryMmi extends MmiConformanceFixture {
  readonly backend: MemoryMmiBackend;
  readonly server: MmiServer;
  readonly siteCa: SiteCa;
  /** The WFM's own SVID and key (what the server presents). */
  readonly wfm: { certPem: string; keyPem: string };
}

const DAY = 86_400_000;

export async function issueTestSvid(
  ca: { certPem: string; keyPem: string },
  spiffeId: string,
  now = Date.now(),
  ttlSeconds = 86_400,
): Promise<{ certPem: string; keyPem: string; serialHex: string }> {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const issued = await issueSvid({
    ca,
    publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    spiffeId,
    now,
    ttlSeconds,
  });
  return {
    certPem: issued.certPem,
    keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    serialHex: issued.serialHex,
  };
}

export async function startMemoryMmi(options: MemoryMmiOptions = {}): Promise<MemoryMmi> {
  const trustDomain = options.trustDomain ?? 'plant7.example';
  const wfmId = options.wfmId ?? 'lo-1';
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? silentLogger();
  const basePath = options.basePath ?? '';
  // TLS checks validity against the real clock, so certificates are made with it.
  const siteCa = await createSiteCa({ trustDomain, name: 'Outpost test site CA', now: Date.now() - DAY });
  const wfm = await issueTestSvid(siteCa, wfmSpiffeId(trustDomain, wfmId));
  const backend = createMemoryMmiBackend({ ca: siteCa, trustDomain, wfmId, clock, urlPrefix: basePath });

  const start = async () => {
    const s = await createMmiServer({
      ...options.server,
      backend,
      tls: {
        certPem: wfm.certPem,
        keyPem: wfm.keyPem,
        chainPem: siteCa.certPem,
        anchorsPem: [siteCa.certPem],
      },
      trustDomain,
      wfmId,
      basePath,
      logger,
      clock,
    });
    backend.mmiUrl = s.url;
    return s;
  };
  let server = await start();

  return {
    get baseUrl() {
      return server.url;
    },
    get server() {
      return server;
    },
    trustDomain,
    wfmId,
    ca: siteCa,
    siteCa,
    wfm,
    backend,
    acceptClient(name) {
      backend.accept(name);
      return Promise.resolve(name);
    },
    revokeClient(clientId) {
      backend.revoke(clientId);
      return Promise.resolve();
    },
    async setDeployments(clientId, deployments) {
      await backend.setDeployments(clientId, deployments);
    },
    createEnrollmentToken({ nodeName, expired }) {
      return Promise.resolve(
        backend.createEnrollmentToken({ nodeName, expiresAt: expired ? clock.now() - 60_000 : undefined }),
      );
    },
    async restart() {
      await server.close();
      server = await start();
    },
    close: () => server.close(),
  };
}
