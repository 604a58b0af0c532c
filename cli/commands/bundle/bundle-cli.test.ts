import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHost, type Host } from '../../../core/server/host.js';
import { silentLogger } from '../../../lib/log/index.js';
import { removeTempDirs, tempDir } from '../../../lib/base/testing.js';
import { formatPublicKey, generateKeyPair, keySigner, writeBundle } from '../../../lib/bundle/index.js';
import { EDGECTL, edgectl, type RunResult } from '../../../test/helpers/cli.js';
import { waitFor } from '../../../test/helpers/wait.js';

/**
 * `edgectl bundle ...` and `co set-site` as a user meets them, against a real site LO: `--help`,
 * `-o json|yaml`, one line on stderr and the exit code for each expected failure (never a stack trace),
 * a refused bundle named by its reason, and Ctrl-C during a long verify cancelling the job on the server.
 */

let host: Host;
let drive: string;
/** A key this site trusts (pinned as "hq") and one it has never seen. */
const hqKey = generateKeyPair();
const strangerKey = generateKeyPair();

beforeAll(async () => {
  drive = tempDir('cli-bundle-drive');
  host = await startHost({
    home: tempDir('cli-bundle'),
    logger: silentLogger(),
    overrides: {
      role: 'lo',
      server: { port: 0 },
      site: { id: 'plant-1', name: 'Plant 1' },
      nats: { enabled: false },
      registry: { enabled: true, port: 0, loopbackPort: 0 },
      airgap: { drives: { enabled: false } },
    },
  });
}, 60_000);
afterAll(async () => {
  await host?.stop();
  removeTempDirs();
});

const auth = () => ['--server', host.info.url, '--token', host.info.token];
const run = (args: string[]) => edgectl([...args, ...auth()], { timeoutMs: 60_000 });

/** An expected failure: exactly one line on stderr, no stack trace, the exit code. */
function refused(r: RunResult, code: number, message: RegExp): void {
  expect(r.code, r.stderr).toBe(code);
  expect(r.stdout).toBe('');
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(message);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

/** A bundle for this site, signed by `key`, with one blob of `bytes` random bytes. */
async function bundleFile(name: string, key = hqKey, bytes = 1024): Promise<string> {
  const w = await writeBundle({
    file: path.join(drive, name),
    header: {
      kind: 'hq-to-site',
      source: 'hq',
      target: 'plant-1',
      sequence: 1,
      expires: new Date(Date.now() + 86_400_000),
      // What the control plane reads of an HQ bundle (core/bundle/meta.ts): nothing to apply.
      meta: {
        type: 'outpost.hq-bundle',
        tenant: 'default',
        full: true,
        artifacts: [],
        apps: [],
        skipped: [],
        carried: {},
      },
    },
    blobs: [{ role: 'oci-blob', source: { bytes: crypto.randomBytes(bytes) } }],
    signer: keySigner(key),
  });
  return w.file;
}

describe('edgectl bundle', () => {
  it('lists its commands in --help, and each command has its own', async () => {
    const r = await edgectl(['bundle', '--help']);
    expect(r.code).toBe(0);
    for (const c of ['key', 'trust', 'export', 'export-status', 'verify', 'import', 'history', 'drives'])
      expect(r.stdout).toMatch(new RegExp(`^\\s+${c}\\b`, 'm'));
    const k = await edgectl(['bundle', 'key', '--help']);
    for (const c of ['export', 'rotate', 'list']) expect(k.stdout).toMatch(new RegExp(`^\\s+${c}\\b`, 'm'));
    const t = await edgectl(['bundle', 'trust', '--help']);
    for (const c of ['add', 'list', 'remove']) expect(t.stdout).toMatch(new RegExp(`^\\s+${c}\\b`, 'm'));
    const e = await edgectl(['bundle', 'export', '--help']);
    expect(e.code).toBe(0);
    for (const o of ['--site', '--out', '--drive', '--full', '--expires']) expect(e.stdout).toContain(o);
  });

  it("exports this server's key as a minisign public key file, and as JSON or YAML", async () => {
    const out = path.join(drive, 'plant-1.pub');
    const r = await run(['bundle', 'key', 'export', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(fs.readFileSync(out, 'utf8')).toMatch(/^untrusted comment: minisign public key [0-9A-F]+\n\S+\n$/);
    refused(
      await run(['bundle', 'key', 'export', '--out', out]),
      1,
      /already exists \(--force replaces it\)$/,
    );
    const json = JSON.parse((await run(['bundle', 'key', 'export', '-o', 'json'])).stdout) as {
      keyId: string;
      publicKey: string;
    };
    expect(fs.readFileSync(out, 'utf8')).toBe(json.publicKey);
    const yaml = parseYaml((await run(['bundle', 'key', 'list', '-o', 'yaml'])).stdout) as {
      keyId: string;
    }[];
    expect(yaml.map((k) => k.keyId)).toEqual([json.keyId]);
  });

  it('pins a key from a file, lists it, and refuses what is not a key in one line', async () => {
    const pub = path.join(drive, 'hq.pub');
    fs.writeFileSync(pub, formatPublicKey(hqKey));
    const added = await run(['bundle', 'trust', 'add', pub, '--name', 'hq', '-o', 'json']);
    expect(added.code, added.stderr).toBe(0);
    expect(JSON.parse(added.stdout)).toMatchObject({ keyId: hqKey.keyId, name: 'hq', siteId: null });
    const list = parseYaml((await run(['bundle', 'trust', 'list', '-o', 'yaml'])).stdout) as {
      keyId: string;
    }[];
    expect(list.map((k) => k.keyId)).toEqual([hqKey.keyId]);

    refused(await run(['bundle', 'trust', 'add', path.join(drive, 'nope.pub')]), 5, /no such file$/);
    const junk = path.join(drive, 'junk.pub');
    fs.writeFileSync(junk, 'this is not a key\n');
    refused(await run(['bundle', 'trust', 'add', junk]), 2, /.+/);
    refused(await run(['bundle', 'trust', 'remove', '0123456789ABCDEF']), 5, /.+/);
  });

  it('verifies a bundle signed by a pinned key and prints what importing it would do (JSON too)', async () => {
    const file = await bundleFile('good.outpost.tar');
    const r = await run(['bundle', 'verify', file]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^signed by:\s+\S+ \(trusted as hq\)/m);
    expect(r.stdout).toMatch(/verified: nothing was changed/);
    const j = JSON.parse((await run(['bundle', 'verify', file, '-o', 'json', '-q'])).stdout) as {
      sequence: number;
      signer: { keyId: string };
    };
    expect(j).toMatchObject({ sequence: 1, signer: { keyId: hqKey.keyId } });
  });

  it('refuses a bundle in one line naming the reason, with exit code 2', async () => {
    refused(
      await run(['bundle', 'verify', await bundleFile('stranger.outpost.tar', strangerKey), '-q']),
      2,
      /key|sign/i,
    );
    const flipped = await bundleFile('flipped.outpost.tar');
    const bytes = fs.readFileSync(flipped);
    bytes[bytes.length - 2048] = bytes[bytes.length - 2048]! ^ 0xff;
    fs.writeFileSync(flipped, bytes);
    refused(await run(['bundle', 'import', flipped, '-q']), 2, /.+/);
    const junk = path.join(drive, 'junk.outpost.tar');
    fs.writeFileSync(junk, 'not a bundle at all');
    refused(await run(['bundle', 'import', junk, '-q']), 2, /.+/);
    refused(await run(['bundle', 'verify', path.join(drive, 'missing.outpost.tar')]), 5, /.+/);
    // Nothing imported.
    const h = JSON.parse((await run(['bundle', 'history', '-o', 'json'])).stdout) as {
      streams: { lastImported?: unknown }[];
    };
    expect(JSON.stringify(h)).not.toMatch(/"sequence":1\b/);
  });

  it('says what is missing from a command line in one line, exit 2', async () => {
    refused(await run(['bundle', 'export', '--site', 'plant-1']), 2, /--out FILE\|DIR or --drive auto/);
    refused(
      await run(['bundle', 'export', '--site', 'plant-1', '--out', drive, '--expires', 'soon']),
      2,
      /--expires/,
    );
    refused(await run(['co', 'set-site', 'plant-1', '--air-gapped', '--connected']), 2, /exactly one of/);
    refused(await run(['co', 'set-site', 'plant-1']), 2, /exactly one of/);
  });

  it('cancels a long verify on Ctrl-C: the job stops on the server, nothing is left', async () => {
    const file = await bundleFile('big.outpost.tar', hqKey, 160 * 1024 * 1024);
    const child = spawn(process.execPath, [EDGECTL, 'bundle', 'verify', file, ...auth()], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    // Progress on stderr (a line per phase and every few seconds off a terminal), then Ctrl-C.
    await waitFor(() => /verify big\.outpost\.tar: /.test(stderr), {
      what: 'progress on stderr',
      timeoutMs: 60_000,
    });
    child.kill('SIGINT');
    const code = await exited;
    expect(stderr).toMatch(/cancelling verify big\.outpost\.tar/);
    expect(stderr).not.toMatch(/\n\s+at /);
    expect(code).toBe(130);
    const staging = path.join(host.core.paths.home, 'bundles', 'staging');
    await waitFor(() => !fs.existsSync(staging) || fs.readdirSync(staging).length === 0, {
      what: 'the staging folder emptied',
      timeoutMs: 60_000,
    });
  }, 180_000);
});
