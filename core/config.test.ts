import { afterAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { defaultConfig, parseConfig } from './config.js';
import { loadConfig } from './config-file.js';
import { OutpostError } from '../lib/errors/index.js';

function errorOf(fn: () => unknown): OutpostError {
  try {
    fn();
  } catch (err) {
    if (err instanceof OutpostError) return err;
    throw err;
  }
  throw new Error('expected an error');
}

describe('parseConfig', () => {
  it('returns the defaults for an empty input', () => {
    expect(parseConfig({})).toEqual(defaultConfig());
    expect(parseConfig(undefined)).toEqual(defaultConfig());
  });

  it('merges partial sections over the defaults', () => {
    const c = parseConfig({ server: { port: 0 }, role: 'lo' });
    expect(c.server.port).toBe(0);
    expect(c.server.host).toBe('127.0.0.1');
    expect(c.role).toBe('lo');
  });

  it('names the field of an out-of-range value', () => {
    const e = errorOf(() => parseConfig({ server: { port: 70000 } }, 'config.yaml'));
    expect(e.code).toBe('invalid-config');
    expect(e.message).toMatch(/^config\.yaml: server\.port: /);
    expect(e.errors?.[0]?.field).toBe('server.port');
  });

  it('names the field of a wrong type and of a bad enum value', () => {
    const e = errorOf(() => parseConfig({ role: 'hub', nats: { enabled: 'yes' } }));
    const fields = e.errors?.map((x) => x.field).sort();
    expect(fields).toEqual(['nats.enabled', 'role']);
  });

  it('refuses unknown keys so typos never pass silently', () => {
    const e = errorOf(() => parseConfig({ server: { prot: 1 } }));
    expect(e.message).toContain('server: unknown key "prot"');
  });

  it('checks relations between fields', () => {
    const e = errorOf(() => parseConfig({ nats: { staleAfterSeconds: 100, offlineAfterSeconds: 50 } }));
    expect(e.errors?.[0]?.field).toBe('nats.staleAfterSeconds');
  });

  it('refuses a non-object document', () => {
    expect(errorOf(() => parseConfig([1, 2])).message).toContain('expected an object');
  });
});

describe('loadConfig', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-config-'));
  const file = path.join(dir, 'config.yaml');
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('uses defaults when the file does not exist', () => {
    expect(loadConfig(path.join(dir, 'absent.yaml'))).toEqual(defaultConfig());
  });

  it('reports YAML syntax errors with file, line and column', () => {
    fs.writeFileSync(file, 'server:\n  port: [1, 2\n');
    const e = errorOf(() => loadConfig(file));
    expect(e.code).toBe('invalid-config');
    expect(e.message).toMatch(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+:\\d+: `));
  });

  it('applies overrides on top of the file', () => {
    fs.writeFileSync(file, 'server:\n  port: 9000\nsite:\n  id: plant-1\n  name: Plant 1\n');
    const c = loadConfig(file, { server: { port: 0 } });
    expect(c.server.port).toBe(0);
    expect(c.site.id).toBe('plant-1');
  });

  it('names the file in validation errors', () => {
    fs.writeFileSync(file, 'site:\n  id: Not Valid\n');
    const e = errorOf(() => loadConfig(file));
    expect(e.message).toContain(`${file}: site.id:`);
  });
});

describe('presence thresholds from the check-in period (issue 12, ADR 0500)', () => {
  it('derives them with margin, so the threshold is never the period itself', () => {
    const c = parseConfig({});
    expect(c.nats.checkInSeconds).toBe(30);
    expect(c.nats.staleAfterSeconds).toBe(70);
    expect(c.nats.offlineAfterSeconds).toBe(140);
    const fast = parseConfig({ nats: { checkInSeconds: 5 } });
    expect([fast.nats.staleAfterSeconds, fast.nats.offlineAfterSeconds]).toEqual([20, 40]);
  });
  it('keeps thresholds that are given, when they leave a margin', () => {
    const c = parseConfig({ nats: { checkInSeconds: 10, staleAfterSeconds: 15 } });
    expect([c.nats.staleAfterSeconds, c.nats.offlineAfterSeconds]).toEqual([15, 30]);
  });
  it('refuses a stale threshold at (or near) the check-in period', () => {
    const e = errorOf(() => parseConfig({ nats: { checkInSeconds: 30, staleAfterSeconds: 30 } }));
    expect(e.code).toBe('invalid-config');
    expect(e.errors?.[0]?.field).toBe('nats.staleAfterSeconds');
    expect(e.message).toMatch(
      /must be at least 1\.5 x nats\.checkInSeconds \(30\).*leave it out to derive it: 70/,
    );
  });
});
