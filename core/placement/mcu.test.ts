import { describe, expect, it } from 'vitest';
import { place } from './index.js';
import type { PlacementNode } from '../../lib/model/index.js';
import { testNode as node, testProfile as profile, testRequest as request } from './testing/nodes.js';

// Placement of `runtime: ocre` apps (ADR 0441, 0443): only on MCU child devices (which report the
// ocre runtime), never on hosts; capacity in the MCU's terms (RAM, littlefs space); one child per gateway.

const host = (uid: string) =>
  node(uid, {
    name: uid,
    props: { supportedRuntimes: ['oci', 'custom'], supportedDeploymentTypes: ['compose', 'custom'] },
    extensions: { 'x-outpost-extensions': { runtimes: ['wasm'] } },
  });

const mcu = (
  gw: string,
  name: string,
  memory = '768Ki',
  storage = '512Ki',
  over: Partial<PlacementNode> = {},
) =>
  node(`${gw}/${name}`, {
    name: `${gw}/${name}`,
    hostId: `site-a/${gw}`,
    gatewayId: gw,
    props: {
      cpus: [{ cores: 1, architecture: 'arm' }],
      memory,
      storage,
      supportedRuntimes: ['custom'],
      supportedDeploymentTypes: ['custom'],
    },
    extensions: { 'x-outpost-extensions': { runtimes: ['ocre'] } },
    ...over,
  });

const ocreApp = (memory?: string, storage?: string) =>
  profile(
    memory || storage
      ? { capacityRequirements: { ...(memory ? { memory } : {}), ...(storage ? { storage } : {}) } }
      : undefined,
    { type: 'custom', extensions: { 'x-outpost-extensions': { runtime: 'ocre' } } },
  );

const reasons = (r: ReturnType<typeof place>, uid: string) =>
  r.candidates.find((c) => c.uid === uid)!.reasons.map((x) => `${x.code}: ${x.message}`);

describe('placement of ocre apps', () => {
  it('places on an MCU, never on a host, and says why not the host', () => {
    const r = place(request({ profile: ocreApp(), replicas: 'all' }), [
      host('edge-1'),
      mcu('edge-1', 'mcu1'),
    ]);
    expect(r.placed).toEqual(['edge-1/mcu1']);
    expect(reasons(r, 'edge-1')).toEqual([
      expect.stringMatching(
        /^runtime: ocre apps run on microcontrollers, the child devices <host>\/<mcu> of a host; this node is a host/,
      ),
    ]);
  });

  it('a wasm or compose app never goes to an MCU', () => {
    const wasm = profile(undefined, {
      type: 'custom',
      extensions: { 'x-outpost-extensions': { runtime: 'wasm' } },
    });
    const r = place(request({ profile: wasm, replicas: 'all' }), [host('edge-1'), mcu('edge-1', 'mcu1')]);
    expect(r.placed).toEqual(['edge-1']);
    expect(reasons(r, 'edge-1/mcu1')[0]).toMatch(/^runtime: node does not offer the wasm runtime/);
    const c = place(request({ profile: profile(), replicas: 'all' }), [mcu('edge-1', 'mcu1')]);
    expect(c.placed).toEqual([]);
    expect(reasons(c, 'edge-1/mcu1')[0]).toMatch(/^deployment-type: /);
  });

  it('counts capacity in the MCU terms: RAM and flash left after what is reserved', () => {
    const full = mcu('edge-1', 'mcu1', '64Ki', '128Ki', {
      reserved: { cpuCores: 0, memoryBytes: 48 * 1024, storageBytes: 0 },
    });
    const small = mcu('edge-2', 'mcu1', '768Ki', '64Ki');
    const ok = mcu('edge-3', 'mcu1');
    const r = place(request({ profile: ocreApp('32Ki', '100Ki'), replicas: 'all' }), [full, small, ok]);
    expect(r.placed).toEqual(['edge-3/mcu1']);
    expect(reasons(r, 'edge-1/mcu1')[0]).toMatch(/^capacity\.memory: /);
    expect(reasons(r, 'edge-2/mcu1')[0]).toMatch(/^capacity\.storage: /);
  });

  it('takes one MCU per host: the siblings are set aside with a reason', () => {
    const r = place(request({ profile: ocreApp(), replicas: 'all' }), [
      mcu('edge-1', 'a'),
      mcu('edge-1', 'b'),
      mcu('edge-2', 'a'),
    ]);
    expect(r.placed.sort()).toEqual(['edge-1/a', 'edge-2/a']);
    expect(reasons(r, 'edge-1/b')).toEqual([
      expect.stringMatching(
        /^not-selected: eligible .*host "edge-1" takes this deployment on edge-1\/a already/,
      ),
    ]);
    const two = place(request({ profile: ocreApp(), replicas: 2 }), [mcu('edge-1', 'a'), mcu('edge-1', 'b')]);
    expect(two.placeable).toBe(false);
  });
});
