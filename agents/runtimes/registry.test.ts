import { describe, expect, it } from 'vitest';
import { MediaType, type ImageManifest } from '../../lib/oci/index.js';
import {
  BUILTIN_RUNTIMES,
  classifyArtifact,
  defaultRuntimesConfig,
  profileRuntimes,
  runtimeForArtifact,
} from './registry.js';
import { defineRuntime, type RuntimeDefinition } from './runtime.js';

// The registry: which runtimes take which Margo profile, which artifacts each runs, and that one more
// definition is all a new runtime needs to be chosen (the live set and its probe: runtime-set.test.ts).

const manifest = (config: string, layers: string[], artifactType?: string): ImageManifest => ({
  schemaVersion: 2,
  ...(artifactType ? { artifactType } : {}),
  config: { mediaType: config, digest: `sha256:${'0'.repeat(64)}`, size: 2 },
  layers: layers.map((t, i) => ({ mediaType: t, digest: `sha256:${String(i).repeat(64)}`, size: 1 })),
});
const ext = (runtime: string) => ({ 'x-outpost-extensions': { runtime } });

const wasm = manifest(MediaType.wasmConfig, [MediaType.wasmLayer]);
const wasmLegacy = manifest(MediaType.ociEmpty, [MediaType.wasmLayerLegacy]);
const compose = manifest(MediaType.ociEmpty, [MediaType.composeLayer], MediaType.composeArtifact);
const chart = manifest(MediaType.helmConfig, [MediaType.helmChart]);
const image = manifest(MediaType.ociConfig, [MediaType.ociLayerTarGzip]);
const dockerImage = manifest(MediaType.dockerConfig, [MediaType.dockerLayerTarGzip]);

describe('runtime registry', () => {
  it('names the runtimes that take each Margo profile, in preference order', () => {
    expect(profileRuntimes({ type: 'compose' })).toEqual(['compose', 'container']);
    expect(profileRuntimes({ type: 'helm' })).toEqual(['helm']);
    expect(profileRuntimes({ type: 'helm.v3' })).toEqual(['helm']);
    expect(profileRuntimes({ type: 'custom', extensions: ext('wasm') })).toEqual(['wasm']);
    expect(profileRuntimes({ type: 'custom', extensions: ext('ocre') })).toEqual(['ocre']);
    // The runtime may also be named on the deployment itself.
    expect(profileRuntimes({ type: 'custom' }, BUILTIN_RUNTIMES, ext('wasm'))).toEqual(['wasm']);
  });

  it.each([
    [{ type: 'custom' }, /a custom profile needs x-outpost-extensions\.runtime \(wasm or ocre\)/],
    [{ type: 'custom', extensions: ext('jvm') }, /runtime "jvm" .*unknown; this agent runs wasm, ocre/],
    [{ type: 'kubernetes' }, /deployment type "kubernetes" is not supported/],
  ])('refuses %o with a reason', (profile, reason) => {
    expect(() => profileRuntimes(profile)).toThrow(reason);
    try {
      profileRuntimes(profile);
    } catch (e) {
      expect(e).toMatchObject({ code: 'agent/unsupported-profile' });
    }
  });

  it('classifies artifacts by the media types of lib/oci', () => {
    expect(classifyArtifact(wasm)).toMatchObject({ kind: 'wasm', runtime: 'wasm', layer: wasm.layers[0] });
    expect(classifyArtifact(wasmLegacy)).toMatchObject({ kind: 'wasm', runtime: 'wasm' });
    expect(classifyArtifact(compose)).toMatchObject({ kind: 'compose', runtime: 'compose' });
    expect(classifyArtifact(chart)).toMatchObject({ kind: 'helm', runtime: 'helm' });
    expect(classifyArtifact(image)).toEqual({ kind: 'image', runtime: 'container' });
    expect(classifyArtifact(dockerImage)).toEqual({ kind: 'image', runtime: 'container' });
    expect(classifyArtifact(manifest('application/vnd.acme.thing', [MediaType.octetStream]))).toBeUndefined();
  });

  it("lets the artifact choose among the profile's runtimes, and says what a wrong one is", () => {
    const kinds = profileRuntimes({ type: 'compose' });
    expect(runtimeForArtifact(compose, kinds, 'r/web:1', 'compose').runtime).toBe('compose');
    expect(runtimeForArtifact(image, kinds, 'r/web:1', 'compose').runtime).toBe('container');
    expect(() => runtimeForArtifact(wasm, kinds, 'r/web:1', 'compose')).toThrow(
      'the compose profile needs a compose archive or a container image, r/web:1 is a wasm artifact',
    );
    expect(() => runtimeForArtifact(chart, ['wasm'], 'r/m:1', 'wasm')).toThrow(
      'the wasm profile needs a WASM module, r/m:1 is a helm artifact',
    );
    expect(() => runtimeForArtifact(manifest('application/x-thing', []), ['wasm'], 'r/m:1', 'wasm')).toThrow(
      'r/m:1 is not a WASM module, a compose archive, a Helm chart or a container image',
    );
  });

  it('gives every runtime a configuration section with `enabled`', () => {
    const c = defaultRuntimesConfig();
    expect(Object.keys(c).sort()).toEqual(['compose', 'container', 'helm', 'ocre', 'wasm']);
    for (const v of Object.values(c)) expect(v.enabled).toBe(true);
  });

  it('takes a new runtime from its registration alone', () => {
    const lamp = defineRuntime<'lamp', { enabled: boolean }>({
      kind: 'lamp',
      description: 'a test runtime',
      profiles: [{ type: 'custom', runtime: 'lamp' }],
      artifactName: 'a lamp script',
      classify: (m) => (m.config.mediaType === 'application/vnd.test.lamp' ? { kind: 'lamp' } : undefined),
      config: { defaults: () => ({ enabled: true }), keys: ['enabled'], parse: () => undefined },
      capabilities: { deploymentTypes: ['custom'], runtimes: ['custom'], extensionRuntimes: ['lamp'] },
      limits: { memory: false, cpus: false },
      supervises: false,
      create: () => Promise.reject(new Error('not in this test')),
    });
    const defs: readonly RuntimeDefinition[] = [...BUILTIN_RUNTIMES, lamp];
    expect(profileRuntimes({ type: 'custom', extensions: ext('lamp') }, defs)).toEqual(['lamp']);
    expect(
      runtimeForArtifact(manifest('application/vnd.test.lamp', []), ['lamp'], 'r/l:1', 'lamp', defs),
    ).toEqual({ kind: 'lamp', runtime: 'lamp' });
    // Without the registration the profile is refused, naming what the agent runs.
    expect(() => profileRuntimes({ type: 'custom', extensions: ext('lamp') })).toThrow(
      /this agent runs wasm/,
    );
  });
});
