import { describe, expect, it } from 'vitest';
import { checkImport, layerOf } from './layering.mjs';
import { LAYERS } from './layers.mjs';

describe('the layer table (lint/layers.mjs) as the lint rule applies it', () => {
  it.each([
    ['agents/node/agent.ts', '../../core/lo/backend.js', /agents may not import core/],
    [
      'agents/node/agent.ts',
      '../../lib/margo-validation/index.js',
      /agents may not import lib\/margo-validation/,
    ],
    ['agents/node/agent.ts', 'ajv', /agents may not import ajv/],
    ['agents/node/agent.ts', '../../lib/oci/blob-cache.js', /through its entry \(lib\/oci\/index.js\)/],
    ['renderer/App.tsx', '../lib/model/index.js', /renderer may not import lib\/model/],
    ['renderer/App.tsx', 'node:fs', /no Node built-ins/],
    ['renderer/App.tsx', 'electron', /may not import electron/],
    ['lib/model/quantity.ts', 'node:crypto', /common environment: no Node built-ins/],
    ['lib/model/quantity.ts', 'ajv', /only zod, semver/],
    ['lib/contract/define.ts', '../base/index.js', /lib\/contract may not import lib\/base/],
    [
      'cli/commands/co/deploy.ts',
      '../../../core/placement/index.js',
      /cli\/commands\/co may not import core/,
    ],
    ['core/lo/module.ts', 'react', /may not import react/],
    ['core/lo/module.ts', '../../lib/identity/pem.js', /through its entry/],
  ])('%s importing %s is refused', (file, spec, why) => {
    expect(checkImport(file, spec)).toMatch(why);
  });

  it.each([
    ['agents/node/agent.ts', '../../lib/oci/index.js'],
    ['agents/node/agent.ts', './sync.js'],
    ['core/lo/module.ts', '../../lib/identity/index.js'],
    ['core/lo/module.ts', '../ca/index.js'],
    ['core/lo/module.ts', '../mmi/server.js'],
    ['lib/identity/pem.ts', './webcrypto.js'],
    ['lib/model/revision.ts', 'semver'],
    ['renderer/App.tsx', '../lib/contract/index.js'],
    ['cli/commands/co/deploy.ts', '../../../lib/contract/index.js'],
    ['cli/commands/server.ts', '../../core/server/host.js'],
    // test code may reach anything
    ['agents/node/agent.test.ts', '../../core/mmi/testing/memory-fixture.js'],
    ['test/integration/x.test.ts', '../../core/ca/site-ca.js'],
  ])('%s importing %s is allowed', (file, spec) => {
    expect(checkImport(file, spec)).toBeUndefined();
  });

  it('names a layer for every source folder and lists only layers that exist in the table', () => {
    for (const f of [
      'lib/model/types.ts',
      'core/deploy/engine.ts',
      'agents/runtimes/wasm/runner.ts',
      'cli/main.ts',
    ])
      expect(layerOf(f)).toBeDefined();
    const units = new Set(LAYERS.map((l) => l.unit));
    for (const l of LAYERS)
      for (const i of l.imports) if (!i.endsWith('/*')) expect(units.has(i), `${l.unit} -> ${i}`).toBe(true);
  });
});

describe('CONTRIBUTING.md', () => {
  it('shows the layer table exactly as lint/layers.mjs declares it', async () => {
    const fs = await import('node:fs');
    const { layersMarkdown } = await import('./layers.mjs');
    expect(fs.readFileSync(new URL('../CONTRIBUTING.md', import.meta.url), 'utf8')).toContain(
      layersMarkdown(),
    );
  });
});
