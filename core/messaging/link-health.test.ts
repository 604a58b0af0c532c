import { describe, expect, it } from 'vitest';
import { linkHealth, linkTiming } from './link-health.js';

const T = 30_000;
const now = 1_000_000;

describe('link health from evidence (ADR 0165)', () => {
  it('is connected only with fresh evidence over a present leaf', () => {
    expect(
      linkHealth({ leafConnected: true, leafSince: 0, pongAt: now - 1000, deliveryAt: null }, now, T),
    ).toMatchObject({
      link: 'connected',
      fresh: true,
      lastEvidenceAt: now - 1000,
    });
    expect(
      linkHealth({ leafConnected: true, leafSince: 0, pongAt: null, deliveryAt: now - 29_000 }, now, T).link,
    ).toBe('connected');
  });

  it('calls a link whose evidence is older than the threshold unreachable since that evidence, whatever nats-server says', () => {
    for (const leafConnected of [true, false]) {
      expect(
        linkHealth({ leafConnected, leafSince: 0, pongAt: now - 31_000, deliveryAt: now - 45_000 }, now, T),
      ).toEqual({
        link: 'unreachable',
        unreachableSince: now - 31_000,
        lastEvidenceAt: now - 31_000,
        fresh: false,
      });
    }
  });

  it('says disconnected when nats-server has no leaf and the evidence is recent or absent', () => {
    expect(
      linkHealth({ leafConnected: false, leafSince: null, pongAt: now - 500, deliveryAt: null }, now, T).link,
    ).toBe('disconnected');
    expect(
      linkHealth({ leafConnected: false, leafSince: null, pongAt: null, deliveryAt: null }, now, T).link,
    ).toBe('disconnected');
  });

  it('never calls a silent leaf connected: unknown at first, unreachable after the threshold', () => {
    expect(
      linkHealth({ leafConnected: true, leafSince: now - 1000, pongAt: null, deliveryAt: null }, now, T).link,
    ).toBe('unknown');
    expect(
      linkHealth({ leafConnected: true, leafSince: now - 40_000, pongAt: null, deliveryAt: null }, now, T),
    ).toMatchObject({
      link: 'unreachable',
      unreachableSince: now - 40_000,
    });
  });

  it('is unknown when NATS cannot tell', () => {
    expect(
      linkHealth({ leafConnected: undefined, leafSince: null, pongAt: now, deliveryAt: now }, now, T).link,
    ).toBe('unknown');
  });

  it('derives its periods from the heartbeat: probes twice per beat, unreachable after three beats', () => {
    expect(linkTiming(10)).toEqual({ pingEveryMs: 5000, unreachableAfterMs: 30_000, stallAfterMs: 20_000 });
  });
});
