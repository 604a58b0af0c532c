import { createPublicKey, X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { OutpostError } from '../../lib/errors/index.js';
import type { AgentPaths } from './home.js';
import { ensureDir, fsyncDir, readJson, writeFileDurable } from './durable.js';

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
  /** The site registry the LO named (ADR 0422); artifacts are pulled through it. */
  registryUrl?: string;
  siteId: string;
  /** The node name: the agent's Margo deviceId by default. */
  nodeName: string;
  tenantId: string;
  /** Fingerprint of the site CA the enrollment pinned. */
  caFingerprint: string;
  /** SVID expiry (epoch ms); a renewal updates it with the certificate. */
  notAfter: number;
  enrolledAt: number;
  /** When the SVID was last renewed (epoch ms; absent: the SVID is the one from the enrollment). */
  renewedAt?: number;
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

/**
 * Loads the whole identity; `agent/not-enrolled` when there is none, a clear error when it is incomplete.
 * A renewal interrupted by a crash is finished or undone first (recoverIdentity), so the key and the SVID
 * loaded are always a pair; call it only where the agent lock is held.
 */
export function loadIdentity(paths: AgentPaths): AgentIdentity {
  recoverIdentity(paths);
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
  if (!keyMatchesCertificate(keyPem, certPem)) {
    throw new OutpostError(
      'agent/identity-incomplete',
      `the node's private key (${paths.keyFile}) does not belong to its SVID (${paths.svidFile}); enroll again with --force`,
      { status: 409 },
    );
  }
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
  const r = renewalDirs(paths);
  fs.rmSync(r.staging, { recursive: true, force: true });
  fs.rmSync(r.commit, { recursive: true, force: true });
  writeFileDurable(paths.keyFile, id.keyPem, 0o600);
  writeFileDurable(paths.svidFile, id.certPem, 0o644);
  writeFileDurable(paths.anchorsFile, id.anchorsPem.join(''), 0o644);
  if (id.nats) writeFileDurable(paths.natsFile, JSON.stringify(id.nats, null, 2), 0o600);
  else fs.rmSync(paths.natsFile, { force: true });
  writeFileDurable(paths.enrollmentFile, JSON.stringify(id.enrollment, null, 2) + '\n', 0o644);
}

/** Whether the PEM private key is the one whose public key the (first) certificate carries. */
export function keyMatchesCertificate(keyPem: string, certPem: string): boolean {
  try {
    const ours = createPublicKey(keyPem).export({ type: 'spki', format: 'der' });
    const cert = new X509Certificate(certPem);
    return cert.publicKey.export({ type: 'spki', format: 'der' }).equals(ours);
  } catch {
    return false;
  }
}

// ---- renewal: replacing key and SVID as one (ADR 0380) ----------------------------------------------

/**
 * A renewal writes the new key, SVID and enrollment record into `identity/renew.staging/` (each file
 * fsynced), renames that folder to `identity/renew.commit/` (the commit point, made durable by an fsync of
 * `identity/`), then renames each file over the live one and removes the folder. recoverIdentity, run
 * before the identity is loaded, throws away a staging folder (nothing live was touched: the old pair
 * stays) and finishes a commit folder (the new pair). A crash anywhere leaves the old pair or the new pair,
 * never the key of one and the SVID of the other.
 */
function renewalDirs(paths: AgentPaths): { staging: string; commit: string } {
  return {
    staging: path.join(paths.identityDir, 'renew.staging'),
    commit: path.join(paths.identityDir, 'renew.commit'),
  };
}

const RENEWAL_FILES = (paths: AgentPaths) =>
  [
    ['key.pem', paths.keyFile],
    ['svid.pem', paths.svidFile],
    ['enrollment.json', paths.enrollmentFile],
  ] as const;

/** The steps of commitRenewedIdentity, in order (tests stop at each to simulate a crash). */
export type RenewalStep =
  | 'staged-key'
  | 'staged-svid'
  | 'staged-enrollment'
  | 'committed'
  | 'replaced-key'
  | 'replaced-svid'
  | 'replaced-enrollment';

/** Finishes or undoes an interrupted renewal; says which, or 'none'. */
export function recoverIdentity(paths: AgentPaths): 'none' | 'discarded' | 'completed' {
  const { staging, commit } = renewalDirs(paths);
  let outcome: 'none' | 'discarded' | 'completed' = 'none';
  if (fs.existsSync(staging)) {
    fs.rmSync(staging, { recursive: true, force: true });
    outcome = 'discarded';
  }
  if (fs.existsSync(commit)) {
    applyCommit(paths, commit);
    outcome = 'completed';
  }
  if (outcome !== 'none') fsyncDir(paths.identityDir);
  return outcome;
}

function applyCommit(paths: AgentPaths, commit: string, step?: (s: RenewalStep) => void): void {
  const steps = ['replaced-key', 'replaced-svid', 'replaced-enrollment'] as const;
  RENEWAL_FILES(paths).forEach(([name, live], i) => {
    const staged = path.join(commit, name);
    // Absent: already moved before a crash (renames are atomic and idempotent in this order).
    if (fs.existsSync(staged)) {
      fs.renameSync(staged, live);
      fsyncDir(paths.identityDir);
    }
    step?.(steps[i]!);
  });
  fs.rmSync(commit, { recursive: true, force: true });
  fsyncDir(paths.identityDir);
}

/**
 * Replaces key, SVID and enrollment record as one (see renewalDirs). The caller holds the agent lock and
 * has checked that the SVID is for `keyPem`. `step` is for crash tests: it runs after each step, and an
 * exception it throws stops the commit right there, like a crash would.
 */
export function commitRenewedIdentity(
  paths: AgentPaths,
  next: { keyPem: string; certPem: string; enrollment: Enrollment },
  step?: (s: RenewalStep) => void,
): void {
  recoverIdentity(paths);
  const { staging, commit } = renewalDirs(paths);
  ensureDir(staging);
  writeFileDurable(path.join(staging, 'key.pem'), next.keyPem, 0o600);
  step?.('staged-key');
  writeFileDurable(path.join(staging, 'svid.pem'), next.certPem, 0o644);
  step?.('staged-svid');
  writeFileDurable(
    path.join(staging, 'enrollment.json'),
    JSON.stringify(next.enrollment, null, 2) + '\n',
    0o644,
  );
  step?.('staged-enrollment');
  fs.renameSync(staging, commit);
  fsyncDir(paths.identityDir);
  step?.('committed');
  applyCommit(paths, commit, step);
}

/** notBefore and notAfter (epoch ms) of the first certificate in a PEM. */
export function certValidity(certPem: string | Buffer): { notBefore: number; notAfter: number } {
  const c = new X509Certificate(certPem);
  return { notBefore: Date.parse(c.validFrom), notAfter: Date.parse(c.validTo) };
}

/** Validity of the SVID on disk (the live one, or a committed renewal not yet applied), or undefined. */
export function svidValidity(paths: AgentPaths): { notBefore: number; notAfter: number } | undefined {
  const committed = path.join(renewalDirs(paths).commit, 'svid.pem');
  for (const file of [committed, paths.svidFile]) {
    try {
      return certValidity(fs.readFileSync(file));
    } catch {
      // absent or unreadable: the next candidate
    }
  }
  return undefined;
}
