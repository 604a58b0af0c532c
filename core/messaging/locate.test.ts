import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isOutpostError } from '../../lib/errors/index.js';
import { INSTALL_HINT, locateNatsServer } from './locate.js';
import { removeTempDirs, tempDir } from '../../lib/base/testing.js';

afterAll(removeTempDirs);

function fakeBinary(dir: string, mode = 0o755): string {
  fs.mkdirSync(dir, { recursive: true });
  const f = path.join(dir, 'nats-server');
  fs.writeFileSync(f, '#!/bin/sh\n', { mode });
  return f;
}

describe('locateNatsServer', () => {
  it('prefers the configured path, then resources/bin, then PATH', () => {
    const root = tempDir('locate');
    const configured = fakeBinary(path.join(root, 'conf'));
    const res = fakeBinary(path.join(root, 'resources', 'bin'));
    const onPath = fakeBinary(path.join(root, 'usr', 'bin'));
    const pathEnv = [path.join(root, 'empty'), path.dirname(onPath)].join(path.delimiter);
    expect(locateNatsServer({ configured, resourcesBin: path.dirname(res), pathEnv })).toBe(configured);
    expect(locateNatsServer({ resourcesBin: path.dirname(res), pathEnv })).toBe(res);
    expect(locateNatsServer({ resourcesBin: path.join(root, 'none'), pathEnv })).toBe(onPath);
  });

  it('skips files that are not executable', () => {
    const root = tempDir('locate-x');
    fakeBinary(path.join(root, 'a'), 0o644);
    const b = fakeBinary(path.join(root, 'b'));
    expect(
      locateNatsServer({ pathEnv: [path.join(root, 'a'), path.join(root, 'b')].join(path.delimiter) }),
    ).toBe(b);
  });

  it('says how to install it when it is missing', () => {
    const root = tempDir('locate-none');
    const e1 = (() => {
      try {
        return locateNatsServer({ pathEnv: root });
      } catch (e) {
        return e;
      }
    })();
    expect(isOutpostError(e1, 'nats-unavailable')).toBe(true);
    expect((e1 as Error).message).toBe(`nats-server not found: ${INSTALL_HINT}`);
    expect(INSTALL_HINT).toContain('sudo apt-get install nats-server');
    // A configured path that does not exist is not silently replaced by one on PATH.
    const onPath = fakeBinary(path.join(root, 'bin'));
    expect(() =>
      locateNatsServer({ configured: path.join(root, 'nope'), pathEnv: path.dirname(onPath) }),
    ).toThrow(/not found at .*nope \(nats\.binary\)/);
  });
});
