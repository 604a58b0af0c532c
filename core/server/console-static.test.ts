import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import type { AddressInfo } from 'node:net';
import { createConsoleHttp } from './console-http.js';
import { startTestCore } from '../../test/helpers/core.js';

/**
 * The web portal's files: hashed assets precompressed (brotli, gzip) with a year's cache, index.html never
 * cached, and a missing file (`/favicon.ico`) a 404 rather than the HTML page.
 */
describe('console static files', () => {
  let t: Awaited<ReturnType<typeof startTestCore>>;
  let app: FastifyInstance;
  let base: string;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-static-'));
  const js = 'console.log("outpost");\n'.repeat(200);

  beforeAll(async () => {
    fs.mkdirSync(path.join(dir, 'assets'));
    fs.writeFileSync(path.join(dir, 'index.html'), '<!doctype html><title>Outpost</title>');
    fs.writeFileSync(path.join(dir, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
    fs.writeFileSync(path.join(dir, 'assets', 'index-abc123.js'), js);
    fs.writeFileSync(path.join(dir, 'assets', 'index-abc123.js.br'), zlib.brotliCompressSync(js));
    fs.writeFileSync(path.join(dir, 'assets', 'index-abc123.js.gz'), zlib.gzipSync(js));
    t = await startTestCore();
    app = await createConsoleHttp({ core: t.core, maxBodyBytes: 64 * 1024, staticDir: dir });
    await app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await app.close();
    await t.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('sends a hashed asset brotli-compressed to a browser that accepts it, cached for a year', async () => {
    const r = await fetch(`${base}/assets/index-abc123.js`, { headers: { 'accept-encoding': 'br, gzip' } });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-encoding')).toBe('br');
    expect(r.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(await r.text()).toBe(js);
    const gz = await fetch(`${base}/assets/index-abc123.js`, { headers: { 'accept-encoding': 'gzip' } });
    expect(gz.headers.get('content-encoding')).toBe('gzip');
    expect(await gz.text()).toBe(js);
  });

  it('never caches the page itself, and answers a missing file with 404, not the page', async () => {
    const page = await fetch(`${base}/`);
    expect(page.headers.get('cache-control')).toBe('no-cache');
    expect(await page.text()).toContain('<title>Outpost</title>');
    const icon = await fetch(`${base}/favicon.ico`);
    expect(icon.status).toBe(404);
    expect(icon.headers.get('content-type')).toContain('application/problem+json');
    const svg = await fetch(`${base}/favicon.svg`);
    expect(svg.status).toBe(200);
    expect(svg.headers.get('content-type')).toContain('image/svg+xml');
  });
});
