import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { edgectl, startServer, type ServerProcess } from '../helpers/cli.js';
import { tempHome } from '../helpers/home.js';
import { apiFor, composeApp, type Api } from '../fixtures/agent/harness.js';
import { capabilitiesFor } from '../fixtures/margo.js';

/**
 * A third-party Margo device (not our agent), simulated with openssl and curl only (ADR 0463): it makes its
 * own key and CSR, the operator signs the CSR (`co add node --csr`), and the device talks the MMI with curl:
 * capabilities, the manifest of a deployment placed on it, the deployment YAML, a status report the console
 * then shows. A second device brings a certificate from the operator's own CA (`site ca trust add`, `co add
 * node --certificate`). A client that is not a node (`site client issue`) gets 403 not-a-node for capabilities.
 *
 * The WFM's certificate carries only its SPIFFE ID (no host name), as Margo clients check the SPIFFE ID, not
 * the name. curl checks host names, so the device does what a Margo client must: openssl verifies the chain
 * against the trust bundle, and curl pins the public key of the certificate openssl verified.
 */
describe('a third-party Margo device with openssl and curl', { timeout: 120_000 }, () => {
  const serverHome = tempHome('outpost-3p-srv-');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-3p-'));
  let server: ServerProcess;
  let api: Api;
  let origin: string;
  let pin: string;
  const f = (n: string) => path.join(dir, n);
  const co = (args: string[]) => edgectl([...args, '--home', serverHome.home]);
  const openssl = (args: string[], input?: string) =>
    execFileSync('openssl', args, { cwd: dir, input, stdio: ['pipe', 'pipe', 'pipe'] }).toString();

  /** curl as the device: client certificate, the WFM's key pinned; returns status and body. */
  const curl = (cert: string, key: string, method: string, urlPath: string, body?: unknown) => {
    const args = ['-sS', '-k', '--pinnedpubkey', pin, '--cert', cert, '--key', key, '-X', method];
    args.push('-o', f('body.out'), '-w', '%{http_code}');
    if (body !== undefined)
      args.push('-H', 'content-type: application/json', '--data-binary', JSON.stringify(body));
    const r = spawnSync('curl', [...args, origin + urlPath], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`curl failed: ${r.stderr}`);
    return { status: Number(r.stdout), body: fs.readFileSync(f('body.out'), 'utf8') };
  };

  beforeAll(async () => {
    server = await startServer(serverHome.home);
    api = apiFor(server);
    await api.sites.add({ id: 'plant-3' });
    origin = server.info.mmiUrl!;
    const bundle = await co(['site', 'ca', 'export', '--out', f('site-ca.pem')]);
    expect(bundle.code, bundle.stderr).toBe(0);
    // The device checks the WFM's chain against the site CA, then pins the key of what it verified.
    const hostPort = new URL(origin).host;
    const sc = spawnSync(
      'openssl',
      ['s_client', '-connect', hostPort, '-CAfile', f('site-ca.pem'), '-verify_return_error', '-brief'],
      { input: '', encoding: 'utf8' },
    );
    expect(sc.status, sc.stderr).toBe(0);
    const leaf = spawnSync('openssl', ['s_client', '-connect', hostPort, '-CAfile', f('site-ca.pem')], {
      input: '',
      encoding: 'utf8',
    }).stdout;
    fs.writeFileSync(
      f('wfm.pem'),
      /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n/.exec(leaf)![0],
    );
    const der = execFileSync('sh', [
      '-c',
      `openssl x509 -in ${f('wfm.pem')} -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64`,
    ])
      .toString()
      .trim();
    pin = `sha256//${der}`;
  });
  afterAll(async () => {
    await server?.stop();
    serverHome.cleanup();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('its own CSR signed with --csr: capabilities, a deployment placed on it, the manifest and YAML served, status posted and shown', async () => {
    openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'dev1-key.pem']);
    openssl(['req', '-new', '-key', 'dev1-key.pem', '-subj', '/CN=dev1', '-out', 'dev1.csr']);
    const add = await co([
      'co',
      'add',
      'node',
      'dev1',
      '--site',
      'plant-3',
      '--csr',
      f('dev1.csr'),
      '--out',
      dir,
    ]);
    expect(add.code, add.stderr).toBe(0);
    expect(add.stdout).toContain('spiffe://outpost.local/margo/wfm/outpost/client/default.dev1');
    // The SVID is for the device's own key (it never left the device).
    const pub = (file: string, kind: 'x509' | 'pkey') =>
      kind === 'x509'
        ? openssl(['x509', '-in', file, '-pubkey', '-noout'])
        : openssl(['pkey', '-in', file, '-pubout']);
    expect(pub(f('dev1-svid.pem'), 'x509')).toBe(pub(f('dev1-key.pem'), 'pkey'));
    expect(openssl(['verify', '-CAfile', f('dev1-trust-bundle.pem'), f('dev1-svid.pem')])).toContain('OK');
    expect((await api.nodes.get({ name: 'dev1' })).state).toBe('enrolled');

    const cert = f('dev1-svid.pem');
    const key = f('dev1-key.pem');
    const caps = capabilitiesFor('dev1');
    delete (caps as { 'x-outpost-extensions'?: unknown })['x-outpost-extensions'];
    expect(curl(cert, key, 'PUT', '/api/v1/capabilities/dev1', caps).status).toBe(201);
    expect((await api.nodes.get({ name: 'dev1' })).capabilitiesAt).not.toBeNull();

    await api.apps.add({
      source: {
        kind: 'upload',
        upload: {
          fileName: 'margo.yaml',
          content: composeApp({
            id: 'vendor-app',
            version: '1.0.0',
            components: [{ name: 'web', repository: 'oci://registry.invalid/vendor/web' }],
          }),
        },
      },
    });
    const d = await api.deployments.create({ appId: 'vendor-app', target: { siteId: 'plant-3' } });
    expect(d.nodes.map((n) => n.nodeName)).toEqual(['dev1']);

    const m = curl(cert, key, 'GET', '/api/v1/deployments');
    expect(m.status).toBe(200);
    const manifest = JSON.parse(m.body) as {
      manifestVersion: number;
      deployments: { deploymentId: string; url: string }[];
    };
    expect(manifest.deployments.map((x) => x.deploymentId)).toEqual([d.id]);
    const yaml = curl(cert, key, 'GET', new URL(manifest.deployments[0]!.url, origin).pathname);
    expect(yaml.status).toBe(200);
    expect(yaml.body).toContain('registry.invalid/vendor/web');

    const st = curl(cert, key, 'POST', `/api/v1/deployments/${d.id}/status`, {
      deploymentId: d.id,
      adoptedManifestVersion: manifest.manifestVersion,
      status: { state: 'installed' },
      components: [{ name: 'web', state: 'installed' }],
    });
    expect(st.status).toBe(201);
    const shown = await api.deployments.get({ id: d.id });
    expect(shown.nodes[0]).toMatchObject({ nodeName: 'dev1', state: 'installed', current: true });
    const cli = await co(['co', 'show', 'deployment', d.id]);
    expect(cli.stdout).toMatch(/dev1\s.*installed/);
  });

  it("a certificate from the operator's own CA, once the CA is trusted, with --certificate", async () => {
    openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'opca-key.pem']);
    openssl([
      'req',
      '-x509',
      '-new',
      '-key',
      'opca-key.pem',
      '-subj',
      '/CN=Plant 3 device CA',
      '-days',
      '30',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
      '-out',
      'opca.pem',
    ]);
    openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'dev2-key.pem']);
    openssl(['req', '-new', '-key', 'dev2-key.pem', '-subj', '/CN=dev2', '-out', 'dev2.csr']);
    fs.writeFileSync(
      f('dev2.ext'),
      'subjectAltName=URI:spiffe://outpost.local/margo/wfm/outpost/client/default.dev2\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n',
    );
    openssl([
      'x509',
      '-req',
      '-in',
      'dev2.csr',
      '-CA',
      'opca.pem',
      '-CAkey',
      'opca-key.pem',
      '-CAcreateserial',
      '-days',
      '10',
      '-extfile',
      'dev2.ext',
      '-out',
      'dev2.pem',
    ]);
    // Not before its CA is trusted.
    const early = await co([
      'co',
      'add',
      'node',
      'dev2',
      '--site',
      'plant-3',
      '--certificate',
      f('dev2.pem'),
      '--out',
      dir,
    ]);
    expect(early.code).toBe(2);
    expect(early.stderr).toMatch(
      /^edgectl: --certificate is not acceptable \(wrong-ca\): .*site ca trust add/,
    );
    await expect(api.nodes.get({ name: 'dev2' })).rejects.toMatchObject({ code: 'not-found' });

    const trust = await co(['site', 'ca', 'trust', 'add', f('opca.pem')]);
    expect(trust.code, trust.stderr).toBe(0);
    expect(trust.stdout).toMatch(/^trusted CN=Plant 3 device CA \(sha256:[0-9a-f]{64}\)/);
    // A certificate for another node's SPIFFE ID is refused.
    const wrong = await co([
      'co',
      'add',
      'node',
      'dev9',
      '--site',
      'plant-3',
      '--certificate',
      f('dev2.pem'),
      '--out',
      dir,
    ]);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain(
      'node "dev9" needs a certificate for spiffe://outpost.local/margo/wfm/outpost/client/default.dev9',
    );

    const add = await co([
      'co',
      'add',
      'node',
      'dev2',
      '--site',
      'plant-3',
      '--certificate',
      f('dev2.pem'),
      '--out',
      dir,
    ]);
    expect(add.code, add.stderr).toBe(0);
    expect((await api.nodes.get({ name: 'dev2' })).state).toBe('enrolled');
    expect(
      curl(f('dev2.pem'), f('dev2-key.pem'), 'PUT', '/api/v1/capabilities/dev2', capabilitiesFor('dev2'))
        .status,
    ).toBe(201);
    expect((await api.nodes.get({ name: 'dev2' })).capabilitiesAt).not.toBeNull();
  });

  it('a client that is not a node gets 403 not-a-node for capabilities', async () => {
    const r = await co(['site', 'client', 'issue', '--client-id', 'tester', '--out', f('tester')]);
    expect(r.code, r.stderr).toBe(0);
    const put = curl(
      f('tester/client-svid-cert.pem'),
      f('tester/client-svid-key.pem'),
      'PUT',
      '/api/v1/capabilities/tester',
      capabilitiesFor('tester'),
    );
    expect(put.status).toBe(403);
    const p = JSON.parse(put.body) as { type: string; detail: string };
    expect(p.type).toBe('urn:outpost:problem:not-a-node');
    expect(p.detail).toContain('is accepted here but is not a node');
    // Its manifest still works (a conformance tester reads it).
    expect(
      curl(f('tester/client-svid-cert.pem'), f('tester/client-svid-key.pem'), 'GET', '/api/v1/deployments')
        .status,
    ).toBe(200);
  });
});
