import fs from 'node:fs';
import { OutpostError } from '../../core/errors.js';
import type { AgentPaths } from './home.js';
import { ensureDir, readJson, writeFileDurable } from './durable.js';

/**
 * The node's identity on disk (`<home>/identity/`): its private key (0600, made on the node, never sent),
 * its X.509-SVID, the site's trust anchors, and what the enrollment said (client id, SPIFFE IDs, LO URL,
 * site). The NATS seed, a secret like the key, is kept apart in `nats.json` (0600).
 */

export interface Enrollment {
  clientId: string;
  spiffeId: string;
  wfmSpiffeId: string;
  /** Where the agent polls (the LO's Margo Management Interface). */
  mmiUrl: string;
  siteId: string;
  /** The node name: the agent's Margo deviceId by default. */
  nodeName: string;
  tenantId: string;
  /** Fingerprint of the site CA the enrollment pinned. */
  caFingerprint: string;
  /** SVID expiry (epoch ms). */
  notAfter: number;
  enrolledAt: number;
}

export interface NatsCredentials {
  url: string;
  user: string;
  seed: string;
  inboxPrefix: string;
  subjects: { notify: string; status: string; events: string; presence: string };
  /** The bus speaks TLS with a certificate from the site CA (verified with the trust anchors). */
  tls?: boolean;
}

export interface AgentIdentity {
  enrollment: Enrollment;
  certPem: string;
  keyPem: string;
  anchorsPem: string[];
  nats?: NatsCredentials;
}

export function isEnrolled(paths: AgentPaths): boolean {
  return fs.existsSync(paths.enrollmentFile);
}

/** The enrollment record only (no secrets): what `edgectl agent status` shows. */
export function readEnrollment(paths: AgentPaths): Enrollment | undefined {
  return readJson<Enrollment>(paths.enrollmentFile);
}

/** Loads the whole identity; `agent/not-enrolled` when there is none, a clear error when it is incomplete. */
export function loadIdentity(paths: AgentPaths): AgentIdentity {
  const enrollment = readEnrollment(paths);
  if (!enrollment) {
    throw new OutpostError(
      'agent/not-enrolled',
      `this agent is not enrolled (${paths.home}); run "edgectl agent enroll --lo <URL> --token <TOKEN>" first`,
      { status: 409 },
    );
  }
  const read = (file: string, what: string) => {
    try {
      return fs.readFileSync(file, 'utf8');
    } catch (e) {
      throw new OutpostError(
        'agent/identity-incomplete',
        `cannot read the node's ${what} (${file}): ${(e as Error).message}; enroll again with --force`,
        {
          status: 409,
        },
      );
    }
  };
  const keyPem = read(paths.keyFile, 'private key');
  const mode = fs.statSync(paths.keyFile).mode & 0o777;
  if (mode & 0o077) {
    throw new OutpostError(
      'agent/identity-insecure',
      `${paths.keyFile} is readable by others (mode ${mode.toString(8)}); chmod 600 it`,
      { status: 409 },
    );
  }
  const certPem = read(paths.svidFile, 'SVID');
  const anchors = read(paths.anchorsFile, 'trust anchors');
  const nats = readJson<NatsCredentials>(paths.natsFile);
  return { enrollment, certPem, keyPem, anchorsPem: [anchors], ...(nats ? { nats } : {}) };
}

/** Writes the identity: key (0600) and certificates first, the enrollment record last (its presence means enrolled). */
export function saveIdentity(paths: AgentPaths, id: AgentIdentity): void {
  ensureDir(paths.home);
  ensureDir(paths.identityDir);
  // A new identity replaces the old one completely: the enrollment record goes first so a crash in
  // between leaves "not enrolled", never a key that does not match the SVID.
  fs.rmSync(paths.enrollmentFile, { force: true });
  writeFileDurable(paths.keyFile, id.keyPem, 0o600);
  writeFileDurable(paths.svidFile, id.certPem, 0o644);
  writeFileDurable(paths.anchorsFile, id.anchorsPem.join(''), 0o644);
  if (id.nats) writeFileDurable(paths.natsFile, JSON.stringify(id.nats, null, 2), 0o600);
  else fs.rmSync(paths.natsFile, { force: true });
  writeFileDurable(paths.enrollmentFile, JSON.stringify(id.enrollment, null, 2) + '\n', 0o644);
}
