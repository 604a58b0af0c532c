import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

// The idle agent's memory is mostly the modules it loads (bench/agent-memory.bench.ts measures it).
// @peculiar/x509 (~19 MiB) is only for building a CSR at enrollment and undici (~8 MiB) only for pulling
// images or talking to a Docker socket: both must stay out of what `edgectl agent run` loads at start-up,
// reached only through dynamic import().

async function staticPackages(entries: string[]): Promise<Map<string, string[]>> {
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
  const out = new Map<string, string[]>();
  for (const [file, input] of Object.entries(result.metafile.inputs)) {
    for (const imp of input.imports) {
      if (!imp.external || imp.kind === 'dynamic-import' || imp.path.startsWith('node:')) continue;
      out.set(imp.path, [...(out.get(imp.path) ?? []), file]);
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
      'core/logger.ts',
    ]);
    expect(pkgs.get('@peculiar/x509'), 'imported statically by').toBeUndefined();
    expect(pkgs.get('reflect-metadata'), 'imported statically by').toBeUndefined();
    expect(pkgs.get('undici'), 'imported statically by').toBeUndefined();
    // The check itself sees static imports: the NATS client is one.
    expect(pkgs.has('@nats-io/transport-node')).toBe(true);
  });

  it('enrollment still reaches the certificate library', async () => {
    const pkgs = await staticPackages(['agents/node/enroll.ts']);
    expect(pkgs.has('@peculiar/x509')).toBe(true);
  });
});
