import { describe, expect, it } from 'vitest';
import { agentTxt, loTxt, parseAgentTxt, parseLoTxt, shortFingerprint } from './txt.js';
import { chooseLo } from './choose.js';
import { compareCode } from './code.js';
import { interfacesServing, selectInterfaces } from './interfaces.js';
import type { DiscoveredLo } from './find.js';

const FP_A = `sha256:${'a1'.repeat(32)}`;
const FP_B = `sha256:${'b2'.repeat(32)}`;

describe('TXT records', () => {
  it('an LO record round-trips and is refused when a key is missing or malformed', () => {
    const txt = loTxt({
      siteId: 'plant-7',
      mmiUrl: 'https://10.0.0.5:7443',
      caFingerprint: FP_A,
      trustDomain: 'outpost.local',
      version: '1.2.3',
    });
    expect(txt).toEqual({
      txtvers: '1',
      site: 'plant-7',
      mmi: 'https://10.0.0.5:7443',
      ca: FP_A,
      td: 'outpost.local',
      v: '1.2.3',
    });
    expect(parseLoTxt(txt)).toEqual({
      siteId: 'plant-7',
      mmiUrl: 'https://10.0.0.5:7443',
      caFingerprint: FP_A,
      trustDomain: 'outpost.local',
      version: '1.2.3',
    });
    expect(parseLoTxt({ ...txt, txtvers: '2' })).toBeUndefined();
    expect(parseLoTxt({ ...txt, mmi: 'http://10.0.0.5:7443' })).toBeUndefined();
    expect(parseLoTxt({ ...txt, ca: 'sha256:xyz' })).toBeUndefined();
    const { site: _site, ...noSite } = txt;
    expect(parseLoTxt(noSite)).toBeUndefined();
    // Keys are case-insensitive (RFC 6763 6.4); binary values decode as UTF-8.
    expect(parseLoTxt({ ...txt, SITE: 'plant-7', site: undefined as never })?.siteId).toBe('plant-7');
    expect(parseLoTxt({ ...txt, site: new TextEncoder().encode('plant-8') })?.siteId).toBe('plant-8');
    expect(() =>
      loTxt({ siteId: 'Plant 7', mmiUrl: 'https://x', caFingerprint: FP_A, trustDomain: 'td', version: '1' }),
    ).toThrow(/not a site id/);
  });

  it('an agent record carries the node id only once enrolled', () => {
    expect(agentTxt({ version: '1.0.0', keyFingerprint: FP_B })).toEqual({
      txtvers: '1',
      v: '1.0.0',
      fp: FP_B,
    });
    const enrolled = agentTxt({
      version: '1.0.0',
      keyFingerprint: FP_B,
      nodeId: 'default.box-1',
      siteId: 'plant-7',
    });
    expect(parseAgentTxt(enrolled)).toEqual({
      version: '1.0.0',
      keyFingerprint: FP_B,
      nodeId: 'default.box-1',
      siteId: 'plant-7',
    });
    expect(parseAgentTxt({ txtvers: '1', v: '1' })).toBeUndefined();
  });

  it('short fingerprints and compare codes are stable and differ with either input', () => {
    expect(shortFingerprint(FP_A)).toBe('A1A1-A1A1-A1A1-A1A1');
    const code = compareCode(FP_A, FP_B);
    expect(code).toMatch(/^\d{3} \d{3}$/);
    expect(compareCode(FP_A, FP_B)).toBe(code);
    expect(compareCode(FP_B, FP_A)).not.toBe(code);
  });
});

const lo = (siteId: string, ca: string, url: string): DiscoveredLo => ({
  siteId,
  caFingerprint: ca,
  mmiUrl: url,
  trustDomain: 'outpost.local',
  version: '1',
  instance: `Outpost LO ${siteId}`,
  host: 'h.local',
  port: 7443,
  addresses: [],
  from: undefined,
});

describe('choosing an LO', () => {
  const real = lo('plant-7', FP_A, 'https://10.0.0.1:7443');
  const rogue = lo('plant-7', FP_B, 'https://10.0.0.66:7443');
  const other = lo('plant-9', FP_B, 'https://10.0.0.9:7443');

  it('with a token: only the LO with its CA; the rival for the same site is a conflict', () => {
    expect(chooseLo([rogue, real, other], { siteId: 'plant-7', caFingerprint: FP_A })).toEqual({
      lo: real,
      conflicts: [rogue],
    });
    expect(() => chooseLo([rogue], { siteId: 'plant-7', caFingerprint: FP_A })).toThrow(
      expect.objectContaining({ code: 'agent/ca-mismatch' }),
    );
  });

  it('without a token: one site and one CA, else a clear refusal', () => {
    expect(chooseLo([real], {})).toEqual({ lo: real, conflicts: [] });
    expect(chooseLo([real, other], { siteId: 'plant-9' }).lo).toBe(other);
    expect(() => chooseLo([real, other], {})).toThrow(
      /2 sites advertise an LO on this network; choose one with --site/,
    );
    expect(() => chooseLo([real, rogue], {})).toThrow(/2 LOs advertise site "plant-7" with different CAs/);
    expect(() => chooseLo([], {})).toThrow(expect.objectContaining({ code: 'not-found' }));
    expect(() => chooseLo([other], { siteId: 'plant-7' })).toThrow(/no LO advertises site "plant-7"/);
  });
});

describe('interfaces', () => {
  const table = {
    lo: [{ address: '127.0.0.1', family: 'IPv4', internal: true }],
    eth0: [
      { address: 'fe80::1', family: 'IPv6', internal: false },
      { address: '10.0.0.5', family: 'IPv4', internal: false },
    ],
    wlan0: [{ address: '192.168.1.7', family: 'IPv4', internal: false }],
  } as unknown as Parameters<typeof selectInterfaces>[1];

  it('selects by name or address, all non-loopback by default, and refuses what does not exist', () => {
    expect(selectInterfaces([], table)).toEqual([
      { name: 'eth0', ipv4: '10.0.0.5' },
      { name: 'wlan0', ipv4: '192.168.1.7' },
    ]);
    expect(selectInterfaces(['192.168.1.7'], table)).toEqual([{ name: 'wlan0', ipv4: '192.168.1.7' }]);
    expect(selectInterfaces(['eth0', '10.0.0.5'], table)).toEqual([{ name: 'eth0', ipv4: '10.0.0.5' }]);
    expect(() => selectInterfaces(['eth9'], table)).toThrow(/no network interface "eth9"/);
  });

  it('the interfaces a listener serves: none for loopback', () => {
    expect(interfacesServing('127.0.0.1', table)).toEqual([]);
    expect(interfacesServing('0.0.0.0', table)).toEqual(['eth0', 'wlan0']);
    expect(interfacesServing('10.0.0.5', table)).toEqual(['eth0']);
  });
});
