import { describe, expect, it } from 'vitest';
import {
  DEFAULT_MIRROR_RULES,
  matchMirrorRule,
  mirrorRuleProblem,
  pullSources,
  registryHostOf,
  siteRepository,
  type MirrorRule,
} from './index.js';

const ref = (registry: string, repository: string, tag = '1.0.0') => ({ registry, repository, tag });

describe('site registry naming', () => {
  it('names a repository after its origin host, a port as _port', () => {
    expect(siteRepository(ref('registry.example', 'samples/hello'))).toBe('registry.example/samples/hello');
    expect(siteRepository(ref('Registry.Example:5000', 'x'))).toBe('registry.example_5000/x');
    expect(siteRepository(ref('127.0.0.1:5000', 'wasm/a'))).toBe('127.0.0.1_5000/wasm/a');
    expect(siteRepository(ref('[::1]:5000', 'x'))).toBeUndefined();
  });
});

describe('mirror rules', () => {
  const site = 'lo.plant7:7500';

  it('by default looks in the site registry first, then the origin', () => {
    expect(pullSources(ref('registry.example', 'samples/hello'), DEFAULT_MIRROR_RULES, site)).toEqual([
      { ref: ref(site, 'registry.example/samples/hello'), site: true, origin: false },
      { ref: ref('registry.example', 'samples/hello'), site: false, origin: true },
    ]);
  });

  it('goes to the origin alone when no site registry is known, or the reference names the site registry', () => {
    expect(pullSources(ref('registry.example', 'x'), DEFAULT_MIRROR_RULES, undefined)).toEqual([
      { ref: ref('registry.example', 'x'), site: false, origin: true },
    ]);
    expect(pullSources(ref(site, 'x'), DEFAULT_MIRROR_RULES, site)).toEqual([
      { ref: ref(site, 'x'), site: true, origin: true },
    ]);
  });

  it('picks the longest matching prefix; fallback: false never leaves the mirror', () => {
    const rules: MirrorRule[] = [
      { prefix: '*', mirror: 'site', fallback: true },
      { prefix: 'registry.example/private', mirror: 'site', fallback: false },
      { prefix: 'ghcr.io', mirror: 'mirror.local:5000/ghcr', fallback: true },
    ];
    expect(matchMirrorRule(ref('registry.example', 'private/app'), rules)?.fallback).toBe(false);
    expect(matchMirrorRule(ref('registry.example', 'privateer'), rules)?.prefix).toBe('*');
    expect(pullSources(ref('registry.example', 'private/app'), rules, site)).toEqual([
      { ref: ref(site, 'registry.example/private/app'), site: true, origin: false },
    ]);
    expect(pullSources(ref('ghcr.io', 'acme/tool'), rules, site)).toEqual([
      { ref: ref('mirror.local:5000', 'ghcr/acme/tool'), site: false, origin: false },
      { ref: ref('ghcr.io', 'acme/tool'), site: false, origin: true },
    ]);
    expect(pullSources(ref('other.example', 'x'), [rules[2]!], site)).toEqual([
      { ref: ref('other.example', 'x'), site: false, origin: true },
    ]);
  });

  it('checks the shape of rules', () => {
    expect(mirrorRuleProblem({ prefix: '*', mirror: 'site', fallback: true })).toBeUndefined();
    expect(mirrorRuleProblem({ prefix: 'a b', mirror: 'site', fallback: true })).toMatch(/prefix/);
    expect(mirrorRuleProblem({ prefix: '*', mirror: 'https://x', fallback: true })).toMatch(/mirror/);
    expect(registryHostOf('https://lo.example:7500/')).toBe('lo.example:7500');
    expect(registryHostOf('nonsense')).toBeUndefined();
  });
});
