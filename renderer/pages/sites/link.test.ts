import { describe, expect, it } from 'vitest';
import type { SiteLink } from '../../../lib/contract/index.js';
import { linkDisplay } from './link.js';

const now = 1_800_000_000_000;
const link = (over: Partial<SiteLink>): SiteLink => ({
  siteId: 'plant-9',
  link: 'connected',
  since: now - 60_000,
  backlog: 0,
  lastContactSeconds: 1,
  lastDataAt: now - 1000,
  dataAgeSeconds: 1,
  ...over,
});

describe('linkDisplay', () => {
  it('shows an unreachable link in red since its last evidence, its backlog unknown, never 0', () => {
    const d = linkDisplay(
      link({ link: 'unreachable', since: now - 125_000, backlog: null, lastContactSeconds: 125 }),
      now,
      0,
    );
    expect(d).toMatchObject({
      label: 'unreachable',
      color: 'error',
      since: 'since 2m 5s',
      backlog: 'backlog unknown',
    });
    expect(d.detail).toMatch(/^last contact 2m 5s ago/);
  });
  it('ages between answers', () => {
    expect(linkDisplay(link({ since: now - 10_000 }), now, 5_000).since).toBe('since 15s');
  });
  it('shows a connected link in green with its backlog', () => {
    expect(linkDisplay(link({ backlog: 3 }), now, 0)).toMatchObject({
      color: 'success',
      backlog: 'backlog 3',
    });
  });
});
