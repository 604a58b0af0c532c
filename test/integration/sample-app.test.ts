import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import wabtInit from 'wabt';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';

import { waitFor } from '../helpers/wait.js';

/**
 * The sample application the README deploys (resources/samples/hello-wasm): its module is its WAT source
 * compiled, it greets with its parameters, and its margo.yaml names the module by an origin that the site
 * registry's naming resolves (no registry outside the site, no fixed port).
 */
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const sample = path.join(root, 'resources/samples/hello-wasm');

/** Runs the module under node:wasi in a child process; returns what it printed once `until` holds. */
async function runModule(env: Record<string, string>, until: (out: string) => boolean): Promise<string> {
  const script = `
    import { WASI } from 'node:wasi';
    import fs from 'node:fs';
    const wasi = new WASI({ version: 'preview1', args: ['hello-wasm'], env: JSON.parse(process.env.MODULE_ENV) });
    const mod = await WebAssembly.compile(fs.readFileSync(process.env.MODULE));
    wasi.start(await WebAssembly.instantiate(mod, wasi.getImportObject()));`;
  const child = spawn(process.execPath, ['--no-warnings', '--input-type=module', '-e', script], {
    env: { ...process.env, MODULE: path.join(sample, 'hello.wasm'), MODULE_ENV: JSON.stringify(env) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  try {
    await waitFor(() => until(out) || child.exitCode !== null, {
      what: 'the module to print',
      intervalMs: 100,
    });
    expect(child.exitCode, err).toBeNull();
    return out;
  } finally {
    child.kill('SIGKILL');
  }
}

describe('the sample application hello-wasm', () => {
  it('ships hello.wasm compiled from hello.wat beside it', async () => {
    const wabt = await wabtInit();
    const mod = wabt.parseWat('hello.wat', fs.readFileSync(path.join(sample, 'hello.wat'), 'utf8'));
    try {
      mod.validate();
      const compiled = Buffer.from(mod.toBinary({}).buffer);
      expect(compiled.equals(fs.readFileSync(path.join(sample, 'hello.wasm')))).toBe(true);
    } finally {
      mod.destroy();
    }
  });

  it('prints its greeting, then again every INTERVAL_SECONDS, and keeps running', async () => {
    const out = await runModule(
      { GREETING: 'Guten Morgen, Halle 3', INTERVAL_SECONDS: '1' },
      (o) => o.split('\n').length > 3,
    );
    expect(out.split('\n').slice(0, 3)).toEqual([
      'Guten Morgen, Halle 3',
      'Guten Morgen, Halle 3',
      'Guten Morgen, Halle 3',
    ]);
  });

  it('greets with "Hello from the edge" without parameters, and ignores an interval that is not a number', async () => {
    const out = await runModule({ INTERVAL_SECONDS: '5s' }, (o) => o.includes('\n'));
    expect(out).toMatch(/^Hello from the edge\n/);
    expect(new Set(out.trimEnd().split('\n'))).toEqual(new Set(['Hello from the edge']));
  });

  it('margo.yaml names the module by an origin the site registry mirrors, with the greeting as a parameter', () => {
    const doc = parse(fs.readFileSync(path.join(sample, 'margo.yaml'), 'utf8')) as {
      deploymentProfiles: { components: { properties: { repository: string; revision: string } }[] }[];
      parameters: Record<string, { value: unknown; targets: { pointer: string }[] }>;
    };
    const component = doc.deploymentProfiles[0]!.components[0]!.properties;
    expect(component.repository).toBe('oci://registry.example/samples/hello-wasm');
    expect(component.revision).toBe('1.0.0');
    expect(doc.parameters.greeting).toMatchObject({
      value: 'Hello from the edge',
      targets: [{ pointer: 'GREETING' }],
    });
    expect(doc.parameters.intervalSeconds!.targets[0]!.pointer).toBe('INTERVAL_SECONDS');
  });
});
