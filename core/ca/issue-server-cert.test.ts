import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { createSiteCa } from './site-ca.js';
import { issueServerCertificate } from './issue-server-cert.js';

describe('issueServerCertificate', () => {
  it('issues a TLS server certificate for names and addresses that openssl and node verify', async () => {
    const now = Date.now();
    const ca = await createSiteCa({ trustDomain: 'acme.example', name: 'test CA', now });
    const c = await issueServerCertificate({
      ca,
      commonName: 'nats',
      dnsNames: ['localhost'],
      ipAddresses: ['127.0.0.1'],
      now,
      ttlSeconds: 3600,
    });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-srvcert-'));
    try {
      fs.writeFileSync(path.join(dir, 'ca.pem'), ca.certPem);
      fs.writeFileSync(path.join(dir, 'cert.pem'), c.certPem);
      expect(
        execFileSync('openssl', ['verify', '-purpose', 'sslserver', '-CAfile', 'ca.pem', 'cert.pem'], {
          cwd: dir,
        }).toString(),
      ).toContain('cert.pem: OK');
      const text = execFileSync('openssl', ['x509', '-in', 'cert.pem', '-noout', '-text'], {
        cwd: dir,
      }).toString();
      expect(text).toContain('DNS:localhost');
      expect(text).toContain('IP Address:127.0.0.1');
      expect(text).not.toContain('URI:');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    // A real TLS handshake checks the name the usual way.
    const server = tls.createServer({ cert: c.certPem, key: c.keyPem }, (s) => s.end('ok'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const talk = (host: string, servername?: string) =>
      new Promise<string>((resolve, reject) => {
        const s = tls.connect({ host, port, ca: ca.certPem, ...(servername ? { servername } : {}) }, () =>
          s.on('data', (d) => resolve(d.toString())),
        );
        s.on('error', reject);
      });
    try {
      expect(await talk('127.0.0.1')).toBe('ok');
      await expect(talk('127.0.0.1', 'elsewhere.example')).rejects.toThrow(/altnames|Hostname/i);
    } finally {
      server.close();
    }
  });

  it('refuses a certificate without any name', async () => {
    const ca = await createSiteCa({ trustDomain: 'acme.example', name: 'test CA', now: Date.now() });
    await expect(
      issueServerCertificate({
        ca,
        commonName: 'x',
        dnsNames: [],
        ipAddresses: [],
        now: Date.now(),
        ttlSeconds: 60,
      }),
    ).rejects.toThrow(/host name or an address/);
  });
});
