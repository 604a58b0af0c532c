import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { RC3_SCHEMAS } from './openapi-rc3.js';
import { readTestdata, testdata } from '../margo/test-helpers.js';

const strip = (v: unknown): unknown =>
  Array.isArray(v)
    ? v.map(strip)
    : v && typeof v === 'object'
      ? Object.fromEntries(
          Object.entries(v)
            .filter(([k]) => k !== 'description' && k !== 'example')
            .map(([k, x]) => [k, strip(x)]),
        )
      : v;

describe('the rc.3 schemas and the copied examples', () => {
  it('match the component schemas of the rc.3 OpenAPI file', () => {
    const doc = parse(readTestdata('spec/workload-management-api-1.0.0-rc.3.openapi.yaml').toString()) as {
      components: { schemas: Record<string, unknown> };
    };
    for (const [name, schema] of Object.entries(RC3_SCHEMAS)) {
      expect(schema, name).toEqual(strip(doc.components.schemas[name]));
    }
  });

  // The shared folder exists on development machines; the copies in testdata keep the tests self-contained.
  const shared = '/work/shared/margo';
  it.skipIf(!fs.existsSync(shared))('are still identical to the files in shared/margo', () => {
    for (const dir of ['examples', 'spec']) {
      for (const f of fs.readdirSync(testdata(dir))) {
        expect(readTestdata(`${dir}/${f}`).equals(fs.readFileSync(path.join(shared, f))), f).toBe(true);
      }
    }
  });
});
