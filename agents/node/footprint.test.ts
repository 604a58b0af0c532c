import fs from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

// The idle agent's memory is mostly the modules it loads (bench/agent-memory.bench.ts measures it).
// @peculiar/x509 (~19 MiB) is not needed at all (CSRs come from csr-lite.ts) and undici (~8 MiB) only for pulling
// images or talking to a Docker socket: both must stay out of what `edgectl agent run` loads at start-up,
// reached only through dynamic import().

async function graph(entries: string[]) {
  const result = await build({
    entryPoints: entries,
    bundle: true,
    platform: 'node',
    format: 'esm',
    packages: 'external',
    write: false,
    metafile: true,
    outdir: '/nonexistent',
    splitting: true,
    logLevel: 'silent',
  });
  return result.metafile.inputs;
}

/**
 * The packages loaded with the entries: what their static imports reach, walked from the entries (a module
 * reached only through import() is loaded when that import runs, not at start).
 */
async function staticPackages(entries: string[]): Promise<Map<string, string[]>> {
  const inputs = await graph(entries);
  const out = new Map<string, string[]>();
  const seen = new Set<string>();
  const queue = [...entries];
  while (queue.length > 0) {
    const file = queue.shift()!;
    if (seen.has(file)) continue;
    seen.add(file);
    for (const imp of inputs[file]?.imports ?? []) {
      if (imp.kind === 'dynamic-import' || imp.path.startsWith('node:')) continue;
      if (imp.external) out.set(imp.path, [...(out.get(imp.path) ?? []), file]);
      else queue.push(imp.path);
    }
  }
  return out;
}

describe('agent footprint', () => {
  it('does not load @peculiar/x509 or undici when it starts', async () => {
    const pkgs = await staticPackages([
      'agents/node/agent.ts',
      'agents/node/config.ts',
      'agents/node/identity.ts',
      'lib/log/index.ts',
    ]);
    expect(pkgs.get('@peculiar/x509'), 'imported statically by').toBeUndefined();
    expect(pkgs.get('reflect-metadata'), 'imported statically by').toBeUndefined();
    expect(pkgs.get('undici'), 'imported statically by').toBeUndefined();
    // The agent logs through lib/log's line logger; pino is required only by createLogger (ADR 0546).
    expect(pkgs.get('pino'), 'imported statically by').toBeUndefined();
    expect(pkgs.get('serialport'), 'imported statically by').toBeUndefined();
    // The check itself sees static imports (the configuration parser is one); the NATS client is loaded
    // with import() once the agent connects to the site bus.
    expect(pkgs.has('yaml')).toBe(true);
    expect(pkgs.has('@nats-io/transport-node')).toBe(false);
  });

  it('enrollment and SVID renewal build their CSR without the certificate library (csr-lite)', async () => {
    expect((await staticPackages(['agents/node/enroll.ts'])).get('@peculiar/x509')).toBeUndefined();
    expect((await staticPackages(['agents/node/renew.ts'])).get('@peculiar/x509')).toBeUndefined();
    // The general builder, for a node name that needs DN escaping, is still reached (through import()).
    const inputs = await graph(['agents/node/csr.ts']);
    expect(inputs['agents/node/csr.ts']?.imports.find((i) => i.path === 'lib/x509/index.ts')?.kind).toBe(
      'dynamic-import',
    );
    // And the library itself is reached from there only through import() (lib/x509's loadX509).
    const lib = await graph(['lib/x509/x509-lib.ts']);
    expect(lib['lib/x509/x509-lib.ts']?.imports.find((i) => i.path === '@peculiar/x509')?.kind).toBe(
      'dynamic-import',
    );
  });

  it('the agent reaches renewal only through import()', async () => {
    const inputs = await graph(['agents/node/agent.ts']);
    const edges = Object.values(inputs).flatMap((i) => i.imports);
    expect(edges.filter((e) => e.path === 'agents/node/renew.ts').map((e) => e.kind)).toEqual([
      'dynamic-import',
    ]);
  });

  it('the built agent starts without the OCI client, tar-stream, pino or serialport in its chunks', () => {
    // dist/cli/agent.js (built by the test setup) and the chunks its start imports: the agent, its
    // configuration, the logger, the identity, lib/base, and what they import statically. The OCI
    // client comes with the first pull (the build's agentStaticIndexes, ADR 0546).
    const dir = path.resolve('dist/cli');
    const entry = fs.readFileSync(path.join(dir, 'agent.js'), 'utf8');
    const started = [
      ...entry.matchAll(/import\("\.\/(agent-chunks\/(?:agent|config|log|identity|base)-[^"]+)"\)/g),
    ];
    expect(started.length).toBeGreaterThanOrEqual(5);
    const seen = new Set<string>();
    const queue = ['agent.js', ...started.map((m) => m[1]!)];
    while (queue.length > 0) {
      const file = path.normalize(queue.shift()!);
      if (seen.has(file)) continue;
      seen.add(file);
      const src = fs.readFileSync(path.join(dir, file), 'utf8');
      for (const m of src.matchAll(/(?:^|[;}\s])import\s*(?:[\w${},\s*]+from\s*)?"(\.{1,2}\/[^"]+)"/g))
        queue.push(path.join(path.dirname(file), m[1]!));
    }
    const sources = [...seen].flatMap((f) => {
      const map = JSON.parse(fs.readFileSync(path.join(dir, `${f}.map`), 'utf8')) as { sources: string[] };
      return map.sources;
    });
    expect(sources.some((s) => s.endsWith('agents/node/agent.ts'))).toBe(true);
    expect(sources.some((s) => s.endsWith('agents/node/reconciler.ts'))).toBe(true);
    // Reached through the chunks' own imports: the configuration parser (yaml) is loaded at start.
    expect(sources.some((s) => s.includes('node_modules/yaml/'))).toBe(true);
    for (const absent of ['lib/oci/registry-client.ts', 'lib/oci/push.ts', 'node_modules/tar-stream/'])
      expect(sources.filter((s) => s.includes(absent))).toEqual([]);
    const text = [...seen].map((f) => fs.readFileSync(path.join(dir, f), 'utf8')).join('\n');
    expect(text).not.toMatch(/from\s*"pino"|import\s*"pino"|from\s*"serialport"/);
  });
});
