import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { it } from 'vitest';
import { canonicalJson, resolveParameters } from '../lib/model/index.js';
import {
  parseApplicationDescription,
  renderApplicationDeployment,
  renderApplicationDescription,
} from '../lib/margo/index.js';

// Measures the Margo library's hot paths and writes bench/results/margo-description.json.
const here = path.dirname(fileURLToPath(import.meta.url));
const testdata = path.join(here, '../lib/margo/testdata');

function measure(fn: () => unknown, minMs = 300): { meanMs: number; runs: number } {
  for (let i = 0; i < 20; i++) fn();
  let runs = 0;
  const start = performance.now();
  while (performance.now() - start < minMs) {
    fn();
    runs++;
  }
  return { meanMs: (performance.now() - start) / runs, runs };
}

it('measures parsing, rendering and refusing Margo documents', () => {
  const results: Record<string, unknown> = {};
  const files = {
    'example-001 (1.7 KB)': 'examples/application-description-example-001-helm-hello-world.yaml',
    'example-002 (6.7 KB)': 'examples/application-description-example-002-helm-and-compose.yaml',
    'compose fixture': 'valid/compose.yaml',
  };
  for (const [name, file] of Object.entries(files)) {
    const bytes = fs.readFileSync(path.join(testdata, file));
    const { description } = parseApplicationDescription(bytes);
    results[`parse ${name}`] = {
      bytes: bytes.byteLength,
      ...measure(() => parseApplicationDescription(bytes)),
    };
    results[`render ${name}`] = measure(() => renderApplicationDescription(description));
  }

  const compose = parseApplicationDescription(
    fs.readFileSync(path.join(testdata, 'valid/compose.yaml')),
  ).description;
  const profile = compose.deploymentProfiles[0]!;
  results['resolveParameters + renderApplicationDeployment'] = measure(() =>
    renderApplicationDeployment({
      deploymentId: '6f1c8a2e-6a1b-4f3e-9b7d-2c1e0f9a8b7c',
      name: 'n',
      namespace: 'ns',
      deviceId: 'gw/edge',
      applicationId: compose.id,
      profile,
      parameters: resolveParameters(compose, profile.id, { lineName: 'line-1' }),
    }),
  );

  const manifest = {
    manifestVersion: 7,
    bundle: null,
    deployments: Array.from({ length: 100 }, (_, i) => ({
      deploymentId: `d-${i}`,
      digest: `sha256:${'a'.repeat(64)}`,
      url: `/x/${i}`,
    })),
  };
  results['canonicalJson, 100 deployment refs'] = measure(() => canonicalJson(manifest));

  const big = 'x'.repeat(50 * 1024 * 1024);
  results['refuse 50 MB string'] = measure(() => {
    try {
      parseApplicationDescription(big);
    } catch {
      /* expected */
    }
  }, 100);
  const bomb = ['a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]'];
  for (let i = 1; i < 10; i++)
    bomb.push(
      `a${i}: &a${i} [${Array(10)
        .fill(`*a${i - 1}`)
        .join(', ')}]`,
    );
  const bombText = bomb.join('\n');
  results['refuse billion-laughs'] = measure(() => {
    try {
      parseApplicationDescription(bombText);
    } catch {
      /* expected */
    }
  });

  fs.mkdirSync(path.join(here, 'results'), { recursive: true });
  fs.writeFileSync(
    path.join(here, 'results/margo-description.json'),
    JSON.stringify(
      { name: 'margo-description', date: new Date().toISOString(), node: process.version, results },
      null,
      2,
    ) + '\n',
  );
});
