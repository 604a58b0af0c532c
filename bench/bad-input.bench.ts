import fs from 'node:fs';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { it } from 'vitest';
import { createConsoleHttp } from '../core/server/console-http.js';
import { startTestCore } from '../test/helpers/core.js';
import { WASM_APP } from '../test/fixtures/margo.js';

/**
 * What hostile input costs the console API (ADR 0481): a deployments.create with 800,000 unknown
 * parameters (~15 MB), and a parameter value nested 100,000 deep, each answered 400. Measures the
 * answer time, the size of the error, and the longest stall of the server's event loop meanwhile.
 * Writes bench/results/bad-input.json. Numbers only: nothing here asserts on speed.
 */
const here = path.dirname(fileURLToPath(import.meta.url));
const TOKEN = 'opt_bench-token';

it('bad input: cost of refusing', async () => {
  const t = await startTestCore({ bootstrapToken: TOKEN });
  const app = await createConsoleHttp({ core: t.core, maxBodyBytes: 32 * 1024 * 1024 });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  await t.core.client().apps.add({
    source: { kind: 'upload', upload: { fileName: 'margo.yaml', content: WASM_APP('1.0.0') } },
  });
  await t.core.client().sites.add({ id: 'plant' });

  const cases: Record<string, string> = {
    unknownParameters800k: `{"appId":"hello-wasm","target":{"siteId":"plant"},"parameters":{${Array.from(
      { length: 800_000 },
      (_, i) => `"p${i}":"v"`,
    ).join(',')}}}`,
    nested100k: `{"appId":"hello-wasm","target":{"siteId":"plant"},"parameters":{"greeting":${'{"a":'.repeat(100_000)}"x"${'}'.repeat(100_000)}}}`,
  };
  const result: Record<string, unknown> = {};
  for (const [name, body] of Object.entries(cases)) {
    const h = monitorEventLoopDelay({ resolution: 5 });
    h.enable();
    const started = performance.now();
    const res = await fetch(`${base}/api/v1/rpc/deployments.create`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
      body,
    });
    const text = await res.text();
    const ms = performance.now() - started;
    h.disable();
    result[name] = {
      requestBytes: body.length,
      status: res.status,
      answerMs: Math.round(ms),
      errorBytes: text.length,
      maxEventLoopStallMs: Math.round(h.max / 1e6),
    };
  }
  await app.close();
  await t.stop();
  fs.mkdirSync(path.join(here, 'results'), { recursive: true });
  fs.writeFileSync(path.join(here, 'results', 'bad-input.json'), JSON.stringify(result, null, 2) + '\n');
});
