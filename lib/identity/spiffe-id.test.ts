import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { isOutpostError } from '../errors/index.js';
import {
  classifySpiffeId,
  clientSpiffeId,
  parseSpiffeId,
  spiffeIdProblem,
  trustDomainSpiffeId,
  wfmOf,
  wfmSpiffeId,
} from './spiffe-id.js';

describe('SPIFFE IDs', () => {
  it('builds the two Margo forms', () => {
    expect(wfmSpiffeId('factory.example', 'lo-1')).toBe('spiffe://factory.example/margo/wfm/lo-1');
    expect(clientSpiffeId('factory.example', 'lo-1', 'node_7')).toBe(
      'spiffe://factory.example/margo/wfm/lo-1/client/node_7',
    );
    expect(trustDomainSpiffeId('factory.example')).toBe('spiffe://factory.example');
  });

  it('refuses to build IDs from bad parts', () => {
    for (const [td, wfm, client] of [
      ['Factory.example', 'w', 'c'],
      ['factory.example:443', 'w', 'c'],
      ['', 'w', 'c'],
      ['td', '..', 'c'],
      ['td', 'a/b', 'c'],
      ['td', 'w', ''],
      ['td', 'w', 'a b'],
      ['td', 'w', 'caf%C3%A9'],
      ['td', 'w', 'tilde~'],
    ] as const) {
      expect(() => clientSpiffeId(td, wfm, client), `${td} ${wfm} ${client}`).toThrow(
        expect.objectContaining({ code: 'identity/invalid-spiffe-id' }),
      );
    }
  });

  it('parses valid IDs into trust domain and segments', () => {
    expect(parseSpiffeId('spiffe://td/margo/wfm/w/client/c')).toEqual({
      uri: 'spiffe://td/margo/wfm/w/client/c',
      trustDomain: 'td',
      path: '/margo/wfm/w/client/c',
      segments: ['margo', 'wfm', 'w', 'client', 'c'],
    });
    expect(parseSpiffeId('spiffe://td').segments).toEqual([]);
    expect(parseSpiffeId('spiffe://a-b_c.9/X.y-Z_0').segments).toEqual(['X.y-Z_0']);
  });

  it.each([
    ['SPIFFE://td/x', 'does not start with'],
    ['https://td/x', 'does not start with'],
    ['spiffe://', 'empty trust domain'],
    ['spiffe:///x', 'empty trust domain'],
    ['spiffe://TD/x', 'invalid trust domain'],
    ['spiffe://td:8443/x', 'invalid trust domain'],
    ['spiffe://user@td/x', 'invalid trust domain'],
    ['spiffe://td/', 'ends with "/"'],
    ['spiffe://td/a//b', 'empty path segment'],
    ['spiffe://td/a/./b', '"." path segment'],
    ['spiffe://td/a/../b', '".." path segment'],
    ['spiffe://td/a?b', 'invalid path segment'],
    ['spiffe://td/a#b', 'invalid path segment'],
    ['spiffe://td/a%20b', 'invalid path segment'],
    ['spiffe://td/é', 'invalid path segment'],
    [`spiffe://td/${'a'.repeat(2050)}`, 'longer than 2048'],
  ])('rejects %s', (uri, why) => {
    expect(spiffeIdProblem(uri)).toContain(why);
    try {
      parseSpiffeId(uri);
      expect.unreachable();
    } catch (err) {
      expect(isOutpostError(err, 'identity/invalid-spiffe-id')).toBe(true);
      expect((err as Error).message).toContain(why);
    }
  });

  it('round-trips every ID it builds (property)', () => {
    const seg = fc.stringMatching(/^[A-Za-z0-9._-]{1,20}$/).filter((s) => s !== '.' && s !== '..');
    const td = fc.stringMatching(/^[a-z0-9._-]{1,30}$/);
    fc.assert(
      fc.property(td, seg, seg, (t, w, c) => {
        const id = clientSpiffeId(t, w, c);
        const parsed = parseSpiffeId(id);
        expect(parsed.trustDomain).toBe(t);
        expect(classifySpiffeId(id, { trustDomain: t, wfmId: w })).toEqual({ kind: 'client', clientId: c });
        expect(classifySpiffeId(wfmSpiffeId(t, w), { trustDomain: t, wfmId: w })).toEqual({ kind: 'wfm' });
      }),
    );
  });

  describe('classifySpiffeId', () => {
    const expectWfm = { trustDomain: 'factory.example', wfmId: 'lo-1' };
    it('recognises the client and WFM forms', () => {
      expect(classifySpiffeId('spiffe://factory.example/margo/wfm/lo-1/client/n1', expectWfm)).toEqual({
        kind: 'client',
        clientId: 'n1',
      });
      expect(classifySpiffeId('spiffe://factory.example/margo/wfm/lo-1', expectWfm)).toEqual({ kind: 'wfm' });
    });
    it.each([
      ['spiffe://other.example/margo/wfm/lo-1/client/n1', 'trust-domain'],
      ['spiffe://factory.example/margo/wfm/lo-2/client/n1', 'form'],
      ['spiffe://factory.example/margo/wfm/LO-1/client/n1', 'form'],
      ['spiffe://factory.example/margo/wfm/lo-1/other/n1', 'form'],
      ['spiffe://factory.example/margo/wfm/lo-1/client/n1/extra', 'form'],
      ['spiffe://factory.example/margo/wfm/lo-1/client', 'form'],
      ['spiffe://factory.example/Margo/wfm/lo-1/client/n1', 'form'],
      ['spiffe://factory.example/workload/n1', 'form'],
      ['spiffe://factory.example', 'form'],
      ['spiffe://factory.example/margo/wfm/lo-1/client/n1/', 'invalid'],
      ['not a uri', 'invalid'],
    ])('%s is other (%s)', (id, mismatch) => {
      const c = classifySpiffeId(id, expectWfm);
      expect(c).toMatchObject({ kind: 'other', mismatch });
      expect(c.kind === 'other' && c.reason.length > 0).toBe(true);
    });
  });

  it('wfmOf derives the WFM a client belongs to', () => {
    expect(wfmOf('spiffe://td/margo/wfm/w/client/c')).toEqual({ trustDomain: 'td', wfmId: 'w' });
    expect(wfmOf('spiffe://td/margo/wfm/w')).toEqual({ trustDomain: 'td', wfmId: 'w' });
    expect(wfmOf('spiffe://td/margo/wfm/w/other/c')).toBeUndefined();
    expect(wfmOf('spiffe://td/x')).toBeUndefined();
  });
});
