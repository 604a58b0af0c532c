import tls from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { createSiteCa, issueServerCertificate } from '../ca/index.js';
import { sessionStartedAt } from './tls-session.js';

describe('sessionStartedAt', () => {
  let server: tls.Server | undefined;
  afterEach(() => new Promise<void>((r) => (server ? server.close(() => r()) : r())));

  it('reads the time of the full handshake from a session, and a resumed session keeps it', async () => {
    const ca = await createSiteCa({
      trustDomain: 'plant.example',
      name: 'test CA',
      now: Date.now() - 60_000,
    });
    const cert = await issueServerCertificate({
      ca,
      dnsNames: [],
      ipAddresses: ['127.0.0.1'],
      commonName: '127.0.0.1',
      now: Date.now(),
      ttlSeconds: 3600,
    });
    const seen: { reused: boolean; startedAt: number | undefined }[] = [];
    server = tls.createServer({ cert: cert.certPem, key: cert.keyPem, sessionTimeout: 600 }, (s) => {
      seen.push({ reused: s.isSessionReused(), startedAt: sessionStartedAt(s.getSession()) });
      s.end('x');
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as { port: number }).port;
    const before = Math.floor(Date.now() / 1000) * 1000;
    let session: Buffer | undefined;
    for (let i = 0; i < 3; i++) {
      await new Promise<void>((resolve, reject) => {
        const c = tls.connect({ port, host: '127.0.0.1', ca: ca.certPem, session });
        c.on('session', (s: Buffer) => (session = s));
        c.on('error', reject);
        c.resume();
        c.on('close', () => resolve());
      });
    }
    expect(seen.map((s) => s.reused)).toEqual([false, true, true]);
    const first = seen[0]!.startedAt!;
    expect(first).toBeGreaterThanOrEqual(before);
    expect(first).toBeLessThanOrEqual(Date.now());
    // The resumed connections report the full handshake's time, not their own.
    expect(seen[1]!.startedAt).toBe(first);
    expect(seen[2]!.startedAt).toBe(first);
  });

  it('gives undefined for anything that is not a session', () => {
    expect(sessionStartedAt(undefined)).toBeUndefined();
    expect(sessionStartedAt(Buffer.alloc(0))).toBeUndefined();
    expect(sessionStartedAt(Buffer.from([0x30, 0x82, 0xff]))).toBeUndefined();
    expect(sessionStartedAt(Buffer.from([0x30, 0x03, 0x02, 0x01, 0x01]))).toBeUndefined();
    // A [1] that holds no INTEGER.
    expect(sessionStartedAt(Buffer.from([0x30, 0x04, 0xa1, 0x02, 0x04, 0x00]))).toBeUndefined();
    expect(sessionStartedAt(Buffer.from([0x30, 0x05, 0xa1, 0x03, 0x02, 0x01, 0x07]))).toBe(7000);
  });
});
