import { describe, expect, it } from 'vitest';
import { desiredLine } from './status.js';
import type { SystemStatus } from '../../../lib/contract/index.js';

/** `co status`'s desired-state line says what happened in the operator's words (issue 19, defect 6). */
const now = 1_800_000_000_000;
const status = (d: Partial<NonNullable<SystemStatus['desiredState']>>): SystemStatus =>
  ({
    now,
    desiredState: {
      commit: '0123456789abcdef0123456789abcdef01234567',
      adoptedAt: now - 600_000,
      checkedAt: now - 600_000,
      lastError: null,
      lastErrorAt: null,
      lastErrorKind: null,
      failingSince: null,
      ...d,
    },
  }) as SystemStatus;

describe('desiredLine', () => {
  it('keeps the adoption time while the source cannot be reached, and never says REFUSED for it', () => {
    const line = desiredLine(
      status({
        lastError: 'cannot reach http://git.example/deployments.git: Headers Timeout Error',
        lastErrorAt: now - 5_000,
        lastErrorKind: 'unreachable',
        failingSince: now - 125_000,
      }),
    )!;
    expect(line).toBe(
      'commit 0123456789ab (adopted 10m 0s ago, source read 10m 0s ago); source UNREACHABLE since 2m 5s ago (last try 5s ago): cannot reach http://git.example/deployments.git: Headers Timeout Error',
    );
    expect(line).not.toMatch(/REFUSED/);
  });

  it('says REFUSED for a rewritten history', () => {
    expect(
      desiredLine(
        status({
          lastError: 'refusing desired state ...',
          lastErrorAt: now - 3_000,
          lastErrorKind: 'refused',
          failingSince: now - 3_000,
        }),
      ),
    ).toMatch(/; REFUSED 3s ago: refusing desired state/);
  });

  it('says when the source was last read when all is well', () => {
    expect(desiredLine(status({ checkedAt: now - 20_000 }))).toBe(
      'commit 0123456789ab (adopted 10m 0s ago, source read 20s ago)',
    );
  });
});
