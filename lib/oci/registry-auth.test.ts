import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRegistry, type TestRegistry } from '../../test/helpers/registry.js';
import { isOutpostError, type OutpostError } from '../errors/index.js';
import { createRegistryClient } from './registry-client.js';
import { startProxy, type TestProxy } from './testing/http-proxy.js';
import { selfSigned } from './testing/openssl.js';

// Token auth: the real registry is configured with `auth: token:` and trusts a certificate made with
// openssl; a small token server in this test signs ES256 JWTs with that certificate's key (x5c header),
// the way a Docker token service does. Basic auth: docker-registry only offers htpasswd (bcrypt, which
// needs a tool not installed here), so a Node proxy in front of the registry does the Basic challenge.

const SERVICE = 'outpost-test-registry';
const ISSUER = 'outpost-test-issuer';
const USERS: Record<string, { password: string; actions: string[] }> = {
  alice: { password: 'wonderland', actions: ['pull', 'push'] },
  reader: { password: 'only-reads', actions: ['pull'] },
};

let tmp: string;
let reg: TestRegistry;
let tokenServer: http.Server;
const tokenRequests: { user?: string; scopes: string[] }[] = [];

function b64url(b: Buffer | string): string {
  return Buffer.from(b).toString('base64url');
}

function issueToken(key: crypto.KeyObject, certDer: Buffer, user: string, scopes: string[]): string {
  const now = Math.floor(Date.now() / 1000);
  const access = scopes.flatMap((s) => {
    const [type, name, actions] = s.split(':');
    if (type !== 'repository' || !name || !actions) return [];
    const granted = actions.split(',').filter((a) => USERS[user]!.actions.includes(a));
    return granted.length ? [{ type, name, actions: granted }] : [];
  });
  const header = b64url(JSON.stringify({ typ: 'JWT', alg: 'ES256', x5c: [certDer.toString('base64')] }));
  const claims = b64url(
    JSON.stringify({
      iss: ISSUER,
      sub: user,
      aud: SERVICE,
      exp: now + 300,
      nbf: now - 10,
      iat: now,
      jti: crypto.randomUUID(),
      access,
    }),
  );
  const sig = crypto.sign('sha256', Buffer.from(`${header}.${claims}`), { key, dsaEncoding: 'ieee-p1363' });
  return `${header}.${claims}.${b64url(sig)}`;
}

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-oci-auth-'));
  const { cert, key } = selfSigned(tmp, 'token', '/CN=outpost test token signer');
  const signingKey = crypto.createPrivateKey(fs.readFileSync(key));
  const certDer = new crypto.X509Certificate(fs.readFileSync(cert)).raw;

  tokenServer = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const scopes = url.searchParams.getAll('scope');
    const auth = req.headers.authorization ?? '';
    const [user, password] = auth.startsWith('Basic ')
      ? Buffer.from(auth.slice(6), 'base64').toString('utf8').split(':')
      : [];
    tokenRequests.push({ user, scopes });
    if (url.pathname !== '/token' || url.searchParams.get('service') !== SERVICE) {
      res.writeHead(400).end();
      return;
    }
    if (!user || USERS[user]?.password !== password) {
      res.writeHead(401, { 'content-type': 'application/json' }).end('{"details":"bad credentials"}');
      return;
    }
    const token = issueToken(signingKey, certDer, user, scopes);
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ token, expires_in: 300 }));
  });
  await new Promise<void>((r) => tokenServer.listen(0, '127.0.0.1', r));
  const tokenPort = (tokenServer.address() as AddressInfo).port;
  reg = await startRegistry({
    auth: {
      token: {
        realm: `http://127.0.0.1:${tokenPort}/token`,
        service: SERVICE,
        issuer: ISSUER,
        rootcertbundle: cert,
      },
    },
  });
});

afterAll(async () => {
  await reg?.stop();
  await new Promise<void>((r) => (tokenServer ? tokenServer.close(() => r()) : r()));
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

async function caught(p: Promise<unknown>): Promise<OutpostError> {
  try {
    await p;
  } catch (err) {
    if (isOutpostError(err)) return err;
    throw err;
  }
  throw new Error('expected an error');
}

const artifact = (host: string, tag: string) => ({
  ref: `${host}/team/app:${tag}`,
  files: [{ bytes: Buffer.from(`content ${tag}`), mediaType: 'text/plain' }],
  artifactType: 'application/vnd.outpost.test.v1',
});

describe('Bearer token flow against docker-registry with token auth', () => {
  it('gets tokens with basic credentials, pushes and pulls, and reuses cached tokens', async () => {
    const c = createRegistryClient({
      plainHttp: true,
      credentials: (host) => (host === reg.host ? { username: 'alice', password: 'wonderland' } : undefined),
    });
    try {
      const pushed = await c.push(artifact(reg.host, '1'));
      expect(
        tokenRequests.some((t) => t.user === 'alice' && t.scopes.includes('repository:team/app:pull,push')),
      ).toBe(true);
      const r = await c.resolve(`${reg.host}/team/app:1`);
      expect(r.digest).toBe(pushed.digest);
      const bytes = await c.fetchBlobBytes(`${reg.host}/team/app`, r.manifest.layers[0]!);
      expect(bytes.toString()).toBe('content 1');
      const before = tokenRequests.length;
      await c.resolve(`${reg.host}/team/app:1`);
      expect(await c.listTags(`${reg.host}/team/app`)).toEqual(['1']);
      expect(tokenRequests.length).toBe(before); // served from the token cache
    } finally {
      await c.close();
    }
  });

  it('says no credentials are configured when anonymous access is refused', async () => {
    const c = createRegistryClient({ plainHttp: true });
    const e = await caught(c.resolve(`${reg.host}/team/app:1`));
    await c.close();
    expect(e.code).toBe('oci/unauthorized');
    expect(e.message).toMatch(/refused anonymous access.*no credentials are configured/);
    expect(e.message).not.toContain('\n');
  });

  it('reports rejected credentials as oci/unauthorized without echoing the password', async () => {
    const c = createRegistryClient({
      plainHttp: true,
      credentials: () => ({ username: 'alice', password: 'not-it' }),
    });
    const e = await caught(c.resolve(`${reg.host}/team/app:1`));
    await c.close();
    expect(e.code).toBe('oci/unauthorized');
    expect(e.message).toContain('refused the credentials');
    expect(e.message).not.toContain('not-it');
  });

  it('lets a read-only user pull but not push', async () => {
    const c = createRegistryClient({
      plainHttp: true,
      credentials: () => ({ username: 'reader', password: 'only-reads' }),
    });
    try {
      expect((await c.resolve(`${reg.host}/team/app:1`)).manifest.layers).toHaveLength(1);
      const e = await caught(c.push(artifact(reg.host, '2')));
      expect(e.code).toBe('oci/unauthorized');
    } finally {
      await c.close();
    }
  });

  it('sends a given registry token as-is', async () => {
    const login = createRegistryClient({
      plainHttp: true,
      credentials: () => ({ username: 'reader', password: 'only-reads' }),
    });
    await login.resolve(`${reg.host}/team/app:1`);
    await login.close();
    const addr = tokenServer.address() as AddressInfo;
    const res = await fetch(
      `http://127.0.0.1:${addr.port}/token?service=${SERVICE}&scope=repository:team/app:pull`,
      { headers: { authorization: `Basic ${Buffer.from('reader:only-reads').toString('base64')}` } },
    );
    const { token } = (await res.json()) as { token: string };
    const before = tokenRequests.length;
    const c = createRegistryClient({ plainHttp: true, credentials: () => ({ token }) });
    try {
      expect((await c.resolve(`${reg.host}/team/app:1`)).manifest.layers).toHaveLength(1);
      expect(tokenRequests.length).toBe(before);
    } finally {
      await c.close();
    }
  });
});

describe('Basic auth (Node proxy doing the challenge in front of the registry)', () => {
  let plainReg: TestRegistry;
  let proxy: TestProxy;
  const expected = `Basic ${Buffer.from('bob:builder').toString('base64')}`;

  beforeAll(async () => {
    plainReg = await startRegistry();
    proxy = await startProxy({
      target: plainReg.url,
      intercept: (req, res) => {
        if (req.headers.authorization === expected) return false;
        res.writeHead(401, {
          'www-authenticate': 'Basic realm="outpost test"',
          'content-type': 'application/json',
        });
        res.end('{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}');
        return true;
      },
    });
  });
  afterAll(async () => {
    await proxy?.stop();
    await plainReg?.stop();
  });

  it('answers the Basic challenge once, then sends credentials pre-emptively', async () => {
    const c = createRegistryClient({
      plainHttp: true,
      credentials: () => ({ username: 'bob', password: 'builder' }),
    });
    try {
      await c.push(artifact(proxy.host, 'b1'));
      const r = await c.resolve(`${proxy.host}/team/app:b1`);
      expect(r.manifest.artifactType).toBe('application/vnd.outpost.test.v1');
      const unauthenticated = proxy.requests.filter((q) => q.authorization !== expected);
      expect(unauthenticated).toHaveLength(1);
    } finally {
      await c.close();
    }
  });

  it('follows a blob redirect to another origin without sending it the credentials', async () => {
    const storage = await startProxy({ target: plainReg.url });
    const front = await startProxy({
      target: plainReg.url,
      intercept: (req, res) => {
        if (req.headers.authorization !== expected) {
          res.writeHead(401, { 'www-authenticate': 'Basic realm="outpost test"' }).end();
          return true;
        }
        if (req.method === 'GET' && req.url?.includes('/blobs/sha256:')) {
          res.writeHead(307, { location: `http://${storage.host}${req.url}` }).end();
          return true;
        }
        return false;
      },
    });
    const c = createRegistryClient({
      plainHttp: true,
      credentials: () => ({ username: 'bob', password: 'builder' }),
    });
    try {
      await c.push(artifact(front.host, 'r1'));
      const r = await c.resolve(`${front.host}/team/app:r1`);
      const bytes = await c.fetchBlobBytes(`${front.host}/team/app`, r.manifest.layers[0]!);
      expect(bytes.toString()).toBe('content r1');
      expect(storage.requests.map((q) => q.method)).toEqual(['GET']);
      expect(storage.requests[0]!.authorization).toBeUndefined();
    } finally {
      await c.close();
      await front.stop();
      await storage.stop();
    }
  });

  it('fails with oci/unauthorized when the registry wants a password and none is configured', async () => {
    const c = createRegistryClient({ plainHttp: true });
    const e = await caught(c.resolve(`${proxy.host}/team/app:b1`));
    await c.close();
    expect(e.code).toBe('oci/unauthorized');
    expect(e.message).toMatch(/requires a user name and password \(no credentials are configured/);
  });
});
