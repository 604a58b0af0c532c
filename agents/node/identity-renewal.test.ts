import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientSpiffeId, wfmSpiffeId } from '../../lib/identity/index.js';
import { createSiteCa, type SiteCa } from '../../core/ca/index.js';
import { issueTestSvid } from '../../core/mmi/testing/memory-fixture.js';
import { agentPaths, type AgentPaths } from './home.js';
import {
  commitRenewedIdentity,
  keyMatchesCertificate,
  loadIdentity,
  readEnrollment,
  recoverIdentity,
  saveIdentity,
  svidValidity,
  type Enrollment,
  type RenewalStep,
} from './identity.js';

/**
 * The renewed key and SVID replace the old pair as one (ADR 0380): a crash after any step of the commit
 * leaves the old pair or the new pair on disk, never a mix, and the agent loads a usable identity.
 */

const TD = 'plant7.example';
const ID = clientSpiffeId(TD, 'lo-1', 'default.edge-1');
const STEPS: RenewalStep[] = [
  'staged-key',
  'staged-svid',
  'staged-enrollment',
  'committed',
  'replaced-key',
  'replaced-svid',
  'replaced-enrollment',
];

class Crash extends Error {}

describe('agent identity: renewal commit', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-renew-id-'));
  let ca: SiteCa;
  let oldPair: { certPem: string; keyPem: string };
  let newPair: { certPem: string; keyPem: string };
  const enrollment = (notAfter: number): Enrollment => ({
    clientId: 'default.edge-1',
    spiffeId: ID,
    wfmSpiffeId: wfmSpiffeId(TD, 'lo-1'),
    mmiUrl: 'https://127.0.0.1:1',
    siteId: 'plant-7',
    nodeName: 'edge-1',
    tenantId: 'default',
    caFingerprint: ca.fingerprint,
    notAfter,
    enrolledAt: 1,
  });
  const home = (name: string): AgentPaths => {
    const p = agentPaths(path.join(root, name));
    saveIdentity(p, {
      enrollment: enrollment(Date.now() + 3_600_000),
      certPem: oldPair.certPem,
      keyPem: oldPair.keyPem,
      anchorsPem: [ca.certPem],
    });
    return p;
  };

  beforeAll(async () => {
    ca = await createSiteCa({ trustDomain: TD, name: 'renewal test CA', now: Date.now() - 86_400_000 });
    oldPair = await issueTestSvid(ca, ID, Date.now() - 3_600_000, 3_600 * 2);
    newPair = await issueTestSvid(ca, ID, Date.now(), 86_400);
  });
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  it('replaces key, SVID and record; the key stays 0600; nothing is left behind', () => {
    const p = home('whole');
    const next = enrollment(Date.now() + 86_400_000);
    commitRenewedIdentity(p, { ...newPair, enrollment: { ...next, renewedAt: 42 } });
    const id = loadIdentity(p);
    expect(id.keyPem).toBe(newPair.keyPem);
    expect(id.certPem).toBe(newPair.certPem);
    expect(id.enrollment.renewedAt).toBe(42);
    expect(svidValidity(p)?.notAfter).toBeGreaterThan(Date.now() + 86_000_000);
    expect(fs.statSync(p.keyFile).mode & 0o777).toBe(0o600);
    expect(fs.readdirSync(p.identityDir).sort()).toEqual([
      'anchors.pem',
      'enrollment.json',
      'key.pem',
      'svid.pem',
    ]);
  });

  it.each(STEPS)('a crash after %s leaves a matching pair (old before the commit, new after)', (step) => {
    const p = home(`crash-${step}`);
    const next = { ...enrollment(1), renewedAt: 7 };
    expect(() =>
      commitRenewedIdentity(p, { ...newPair, enrollment: next }, (s) => {
        if (s === step) throw new Crash(s);
      }),
    ).toThrow(Crash);
    // What a reader finds on disk right after the crash, before recovery: a mix is possible only
    // while a commit folder exists (which recovery finishes).
    const onDisk = { key: fs.readFileSync(p.keyFile, 'utf8'), cert: fs.readFileSync(p.svidFile, 'utf8') };
    if (!keyMatchesCertificate(onDisk.key, onDisk.cert))
      expect(fs.existsSync(path.join(p.identityDir, 'renew.commit'))).toBe(true);

    const id = loadIdentity(p); // the agent's start: recovers, then checks the pair
    const committed = STEPS.indexOf(step) >= STEPS.indexOf('committed');
    expect(id.keyPem).toBe(committed ? newPair.keyPem : oldPair.keyPem);
    expect(id.certPem).toBe(committed ? newPair.certPem : oldPair.certPem);
    expect(readEnrollment(p)?.renewedAt).toBe(committed ? 7 : undefined);
    expect(fs.statSync(p.keyFile).mode & 0o777).toBe(0o600);
    expect(recoverIdentity(p)).toBe('none');
  });

  it('refuses a key that does not belong to the SVID', () => {
    const p = home('mismatch');
    fs.writeFileSync(p.svidFile, newPair.certPem);
    expect(() => loadIdentity(p)).toThrow(/does not belong to its SVID/);
  });
});
