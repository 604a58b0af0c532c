import { describe, expect, it } from 'vitest';
import * as margo from './index.js';

describe('lib/margo public entry', () => {
  it('exports exactly the documented API (update index.ts docs when this changes)', () => {
    expect(Object.keys(margo).sort()).toMatchInlineSnapshot(`
      [
        "DEFAULT_MAX_BYTES",
        "buildBundle",
        "encodeStateManifest",
        "loadYaml",
        "normalizeApplicationDeployment",
        "normalizeApplicationDescription",
        "parseApplicationDeployment",
        "parseApplicationDescription",
        "parseStateManifest",
        "renderApplicationDeployment",
        "renderApplicationDescription",
        "serializeStateManifest",
        "sha256Digest",
        "tarOf",
      ]
    `);
  });
});
