import { describe, expect, it } from 'vitest';
import { parseApplicationDeployment } from '../../lib/margo/index.js';
import type { ImageManifest } from '../../lib/oci/index.js';
import {
  componentEnv,
  componentExtension,
  componentHelmValues,
  parseTimeout,
  profileRuntime,
} from './plan.js';
import { classifyArtifact } from '../runtimes/index.js';

const doc = (profile: string) =>
  parseApplicationDeployment(`id: 6f7e2a8c-1b2d-4c3e-9f00-0a1b2c3d4e5f
metadata:
  name: demo
  namespace: default
  deviceId: edge-1
spec:
  applicationId: demo
  deploymentProfile:
${profile}
  parameters:
    greeting:
      value: hi
      targets:
        - pointer: GREETING
          components: [web]
        - pointer: app.greeting
          components: [chart]
    ports:
      value: [80, 443]
      targets:
        - pointer: PORTS
          components: [web, other]
`);

const compose = doc(`    type: compose
    components:
      - name: web
        properties:
          repository: oci://r.example/web
          revision: 1.0.0
          timeout: 2m30s
        x-outpost-extensions:
          args: [--verbose]
          publish: ["127.0.0.1:8080:80"]
          memory: 64Mi
          restart: always
          bogus: 1
      - name: other
        properties:
          repository: oci://r.example/other
          revision: 1.0.0
          wait: false`);

describe('from an ApplicationDeployment to workloads', () => {
  it('picks the runtime family from the profile; custom needs runtime wasm', () => {
    expect(profileRuntime(compose)).toBe('compose');
    const wasm = doc(`    type: custom
    components:
      - name: m
        properties: { repository: oci://r/m, revision: 1.0.0 }
    x-outpost-extensions:
      runtime: wasm`);
    expect(profileRuntime(wasm)).toBe('wasm');
    const ocre = doc(`    type: custom
    components:
      - name: m
        properties: { repository: oci://r/m, revision: 1.0.0 }
    x-outpost-extensions:
      runtime: ocre`);
    expect(profileRuntime(ocre)).toBe('ocre');
  });

  it('gives each component the variables its parameter targets name, and helm values by path', () => {
    expect(componentEnv(compose, 'web')).toEqual({ GREETING: 'hi', PORTS: '80,443' });
    expect(componentEnv(compose, 'other')).toEqual({ PORTS: '80,443' });
    expect(componentHelmValues(compose, 'chart')).toEqual({ 'app.greeting': 'hi' });
  });

  it('reads component extensions leniently and Margo timeouts', () => {
    expect(componentExtension(compose.spec.deploymentProfile.components[0]!)).toEqual({
      args: ['--verbose'],
      publish: ['127.0.0.1:8080:80'],
      memory: '64Mi',
      restart: 'always',
    });
    expect(componentExtension(compose.spec.deploymentProfile.components[1]!)).toEqual({});
    expect(parseTimeout('2m30s')).toBe(150_000);
    expect(parseTimeout('0m5s')).toBe(5000);
    expect(parseTimeout('5s')).toBeUndefined();
    expect(parseTimeout(undefined)).toBeUndefined();
  });

  it('tells WASM modules, compose archives, Helm charts and container images apart', () => {
    const m = (config: string, layers: string[], artifactType?: string): ImageManifest => ({
      schemaVersion: 2,
      ...(artifactType ? { artifactType } : {}),
      config: { mediaType: config, digest: 'sha256:' + '0'.repeat(64), size: 2 },
      layers: layers.map((t, i) => ({ mediaType: t, digest: `sha256:${String(i).repeat(64)}`, size: 1 })),
    });
    expect(classifyArtifact(m('application/vnd.wasm.config.v0+json', ['application/wasm']))?.kind).toBe(
      'wasm',
    );
    expect(
      classifyArtifact(
        m(
          'application/vnd.oci.empty.v1+json',
          ['application/vnd.org.margo.component.compose.tar+gzip'],
          'application/vnd.org.margo.component.compose+json',
        ),
      )?.kind,
    ).toBe('compose');
    expect(
      classifyArtifact(
        m('application/vnd.cncf.helm.config.v1+json', [
          'application/vnd.cncf.helm.chart.content.v1.tar+gzip',
        ]),
      )?.kind,
    ).toBe('helm');
    expect(
      classifyArtifact(
        m('application/vnd.oci.image.config.v1+json', ['application/vnd.oci.image.layer.v1.tar+gzip']),
      )?.kind,
    ).toBe('image');
    expect(
      classifyArtifact(
        m('application/vnd.docker.container.image.v1+json', [
          'application/vnd.docker.image.rootfs.diff.tar.gzip',
        ]),
      )?.kind,
    ).toBe('image');
    expect(classifyArtifact(m('application/vnd.acme.thing', ['application/octet-stream']))).toBeUndefined();
  });
});
