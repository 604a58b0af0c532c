import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createUser, fromSeed } from '@nats-io/nkeys';
import { systemClock } from '../../lib/base/index.js';
import { openCredentialStore } from './credentials.js';
import { removeTempDirs, tempDir } from '../../lib/base/testing.js';

afterAll(removeTempDirs);

describe('credential registry', () => {
  it('issues an NKEY per node, keeps only the public key, and survives a reopen', () => {
    const file = path.join(tempDir('creds'), 'credentials.json');
    const s = openCredentialStore({ file, clock: systemClock });
    const c = s.issueNode('acme.n1', 's1');
    expect(fromSeed(new TextEncoder().encode(c.seed!)).getPublicKey()).toBe(c.user);
    expect(c.permissions.publish.allow).toEqual([
      'outpost.site.s1.node.acme_2En1.status',
      'outpost.site.s1.node.acme_2En1.events',
      'outpost.site.s1.node.acme_2En1.presence',
    ]);
    expect(c.permissions.subscribe.allow).toEqual([
      'outpost.site.s1.node.acme_2En1.notify',
      'outpost.site.s1.node.acme_2En1.logs',
      '_INBOX.outpost.s1.acme_2En1.>',
    ]);
    expect(c.permissions.allow_responses).toEqual({ max: 1, expires: '1m' });
    const text = fs.readFileSync(file, 'utf8');
    expect(text).not.toContain(c.seed!);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const again = openCredentialStore({ file, clock: systemClock });
    expect(again.node('acme.n1')).toMatchObject({ siteId: 's1', publicKey: c.user });
    expect(again.serviceSeed()).toBe(s.serviceSeed());
  });

  it('accepts a node-supplied public key and refuses one that is not a user key or already taken', () => {
    const s = openCredentialStore({ file: path.join(tempDir('creds2'), 'c.json'), clock: systemClock });
    const pk = createUser().getPublicKey();
    const c = s.issueNode('acme.n2', 's1', { publicKey: pk });
    expect(c.seed).toBeUndefined();
    expect(() => s.issueNode('acme.n3', 's1', { publicKey: pk })).toThrow(/already belongs/);
    expect(() => s.issueNode('acme.n3', 's1', { publicKey: 'SUAM' })).toThrow(/not a public NKEY/);
    expect(s.nodes().map((n) => n.nodeUid)).toEqual(['acme.n2']);
  });

  it('issues many nodes in one write, or none when one entry is bad', () => {
    const s = openCredentialStore({ file: path.join(tempDir('creds6'), 'c.json'), clock: systemClock });
    const many = s.issueNodes([
      { nodeUid: 'acme.a', siteId: 's1' },
      { nodeUid: 'acme.b', siteId: 's1' },
    ]);
    expect(many.map((c) => c.nodeUid)).toEqual(['acme.a', 'acme.b']);
    expect(() =>
      s.issueNodes([
        { nodeUid: 'acme.c', siteId: 's1' },
        { nodeUid: 'bad uid', siteId: 's1' },
      ]),
    ).toThrow(/invalid/);
    expect(() =>
      s.issueNodes([
        { nodeUid: 'acme.d', siteId: 's1' },
        { nodeUid: 'acme.d', siteId: 's1' },
      ]),
    ).toThrow(/twice/);
    expect(s.nodes().map((n) => n.nodeUid)).toEqual(['acme.a', 'acme.b']);
  });

  it('re-issuing a node replaces its key; removing it removes the user', () => {
    const s = openCredentialStore({ file: path.join(tempDir('creds3'), 'c.json'), clock: systemClock });
    const a = s.issueNode('acme.n1', 's1');
    const b = s.issueNode('acme.n1', 's1');
    expect(b.user).not.toBe(a.user);
    expect(s.users({ includeLeafs: false }).filter((u) => u.kind === 'nkey' && u.nkey === a.user)).toEqual(
      [],
    );
    expect(s.removeNode('acme.n1')).toBe(true);
    expect(s.removeNode('acme.n1')).toBe(false);
    expect(s.users({ includeLeafs: false })).toHaveLength(1); // the service user
  });

  it('keeps one leaf user per site, bound to its tenant', () => {
    const s = openCredentialStore({ file: path.join(tempDir('creds4'), 'c.json'), clock: systemClock });
    const l = s.issueLeaf('s1', { tenantId: 'acme' });
    expect(s.issueLeaf('s1', { tenantId: 'acme' }).password).toBe(l.password);
    expect(s.issueLeaf('s1', { rotate: true }).password).not.toBe(l.password);
    expect(() => s.issueLeaf('s1', { tenantId: 'other' })).toThrow(/unique on the bus/);
    expect(s.users({ includeLeafs: true }).find((u) => u.kind === 'password')).toMatchObject({
      user: 'leaf-s1',
      allowedConnectionTypes: ['LEAFNODE'],
    });
  });

  it('reports a damaged registry in one line', () => {
    const file = path.join(tempDir('creds5'), 'c.json');
    fs.writeFileSync(file, '{"version":1}');
    expect(() => openCredentialStore({ file, clock: systemClock })).toThrow(
      /c\.json: not a valid NATS credential registry/,
    );
  });
});
