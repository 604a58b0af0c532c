import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { deviceRenderer } from './render.js';
import { parseApplicationDescription, renderApplicationDeployment } from '../../lib/margo/index.js';
import { WASM_APP } from '../../test/fixtures/margo.js';

describe('deviceRenderer', () => {
  const { description } = parseApplicationDescription(WASM_APP('1.0.0'));
  const render = (deviceId: string) =>
    renderApplicationDeployment({
      deploymentId: '5f1c9a2e-0000-4000-8000-000000000001',
      name: 'hello',
      namespace: 'default',
      deviceId,
      applicationId: description.id,
      profile: description.deploymentProfiles[0]!,
      parameters: { greeting: { value: 'hi', targets: [{ pointer: 'GREETING', components: ['hello'] }] } },
    }).yaml;

  it('gives exactly what rendering each device on its own gives', () => {
    const fast = deviceRenderer(render);
    fc.assert(
      fc.property(
        fc.oneof(
          fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,20}$/),
          fc.constantFrom('true', 'no', 'null', '123', '1e5', 'on', 'gw/child', 'a b'),
        ),
        (id) => {
          const outcome = (f: (x: string) => string) => {
            try {
              return f(id);
            } catch (err) {
              return `error: ${(err as Error).message}`;
            }
          };
          expect(outcome(fast)).toBe(outcome(render));
        },
      ),
      { numRuns: 500 },
    );
  });
});
