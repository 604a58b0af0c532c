import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { isOutpostError } from '../errors/index.js';
import {
  desiredSubject,
  nodeSubject,
  nodeToken,
  nodeUidFromToken,
  parseSiteSubject,
  siteDomain,
  upStreamName,
} from './subjects.js';

describe('subject namespace', () => {
  it('turns a node uid with dots into one readable subject token', () => {
    expect(nodeToken('acme.press-01')).toBe('acme_2Epress-01');
    expect(nodeToken('acme.line_3.cam*1')).toBe('acme_2Eline_5F3_2Ecam_2A1');
    expect(nodeToken('acme.überwachung')).toBe('acme_2E_C3_BCberwachung');
    expect(nodeSubject('plant-1', 'acme.press-01', 'notify')).toBe(
      'outpost.site.plant-1.node.acme_2Epress-01.notify',
    );
  });

  it('is reversible and injective, and never yields a wildcard or a separator', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 60 }).filter((s) => !/\s/.test(s)),
        (uid) => {
          const t = nodeToken(uid);
          expect(t).toMatch(/^[A-Za-z0-9_-]+$/);
          expect(nodeUidFromToken(t)).toBe(uid);
        },
      ),
    );
    expect(nodeToken('a.b')).not.toBe(nodeToken('a_2Eb'));
  });

  it('rejects tokens it cannot have produced and bad ids', () => {
    for (const bad of ['a.b', 'a_2e', 'a_', 'a*', 'a_2F_ZZ']) {
      expect(() => nodeUidFromToken(bad), bad).toThrow();
    }
    const err = (() => {
      try {
        nodeSubject('Plant_1', 'acme.x', 'status');
      } catch (e) {
        return e;
      }
    })();
    expect(isOutpostError(err, 'invalid-input')).toBe(true);
    expect(() => nodeToken('has space')).toThrow(/invalid/);
    expect(() => nodeToken('')).toThrow(/invalid/);
  });

  it('parses node and LO subjects back', () => {
    expect(parseSiteSubject('outpost.site.s1.node.acme_2Epress-01.status')).toEqual({
      siteId: 's1',
      nodeUid: 'acme.press-01',
      source: 'node',
      kind: 'status',
    });
    expect(parseSiteSubject('outpost.site.s1.lo.heartbeat')).toEqual({
      siteId: 's1',
      source: 'lo',
      kind: 'heartbeat',
    });
    expect(parseSiteSubject('outpost.site.s1.node.bad.token.x')).toBeUndefined();
    expect(parseSiteSubject('other.site.s1.lo.heartbeat')).toBeUndefined();
  });

  it('names domains, streams and notices per site', () => {
    expect(siteDomain('plant-1')).toBe('site-plant-1');
    expect(upStreamName('plant-1')).toBe('OUTPOST_UP_plant-1');
    expect(desiredSubject('plant-1')).toBe('outpost.desired.plant-1');
  });
});
