import { describe, expect, it } from 'vitest';
import type { PeerCertificate } from 'node:tls';
import { manualClock } from '../../lib/base/index.js';
import { withVerifiedPeerCache } from './peer-cache.js';

describe('verified WFM certificate cache', () => {
  it('checks a certificate once per 10 minutes, never caches a refusal, and tells certificates apart', () => {
    const clock = manualClock();
    const calls: string[] = [];
    const tls = withVerifiedPeerCache(
      {
        checkServerIdentity: (_h: string, c: PeerCertificate) => {
          calls.push(c.fingerprint256);
          return c.fingerprint256 === 'BAD' ? new Error('wrong WFM') : undefined;
        },
      },
      clock,
    );
    const cert = (fp: string) => ({ fingerprint256: fp }) as PeerCertificate;
    expect(tls.checkServerIdentity('x', cert('A'))).toBeUndefined();
    expect(tls.checkServerIdentity('x', cert('A'))).toBeUndefined();
    expect(calls).toEqual(['A']);
    expect(tls.checkServerIdentity('x', cert('BAD'))?.message).toBe('wrong WFM');
    expect(tls.checkServerIdentity('x', cert('BAD'))?.message).toBe('wrong WFM');
    expect(calls).toEqual(['A', 'BAD', 'BAD']);
    clock.advance(600_000);
    tls.checkServerIdentity('x', cert('A'));
    expect(calls).toEqual(['A', 'BAD', 'BAD', 'A']);
  });
});
