import { describe, expect, it } from 'vitest';
import { appPath, parseAppRoute } from './routes.js';

describe('App Store routes', () => {
  it('reads the store, an app and an app version', () => {
    expect(parseAppRoute('/apps')).toBeNull();
    expect(parseAppRoute('/apps/hello-wasm')).toEqual({ id: 'hello-wasm' });
    expect(parseAppRoute('/apps/hello-wasm/1.1.0')).toEqual({ id: 'hello-wasm', version: '1.1.0' });
  });
  it('round-trips ids and versions with characters a path would break on', () => {
    for (const [id, version] of [
      ['com.example.app', '1.0.0_build.5'],
      ['a/b', '2.0.0-rc.1'],
    ] as const) {
      expect(parseAppRoute(appPath(id, version))).toEqual({ id, version });
      expect(parseAppRoute(appPath(id))).toEqual({ id });
    }
  });
});
