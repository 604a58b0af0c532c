import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseApplicationDescription, renderApplicationDescription } from './index.js';
import type { ApplicationDescription, DeploymentProfile, Parameter } from '../model/index.js';
import { readTestdata } from './test-helpers.js';

const name = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,12}[a-z0-9])?$/);
const text = fc.string({ minLength: 1, maxLength: 40 }).filter((s) => s.trim() !== '');
const revision = fc
  .tuple(
    fc.nat(99),
    fc.nat(99),
    fc.nat(99),
    fc.option(fc.constantFrom('-rc.1', '-alpha', '_build.7'), { nil: undefined }),
  )
  .map(([a, b, c, suffix]) => `${a}.${b}.${c}${suffix ?? ''}`);
const scalar = fc.oneof(
  text,
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.boolean(),
);
const paramValue = fc.oneof(
  scalar,
  fc.array(text, { maxLength: 3 }),
  fc.array(fc.integer(), { maxLength: 3 }),
  fc.array(fc.boolean(), { maxLength: 3 }),
);
const extensions = fc.option(
  fc.dictionary(
    fc.constantFrom('x-acme-extensions', 'x-b2-extensions'),
    fc.dictionary(name, fc.jsonValue({ maxDepth: 2 })),
  ),
  { nil: undefined },
);

const profile = (id: string): fc.Arbitrary<DeploymentProfile> =>
  fc
    .record({
      type: fc.constantFrom('helm' as const, 'compose' as const),
      description: fc.option(text, { nil: undefined }),
      components: fc.uniqueArray(name, { minLength: 1, maxLength: 3 }),
      revision,
      wait: fc.option(fc.boolean(), { nil: undefined }),
      memory: fc.option(
        fc.nat(4096).map((n) => `${n}Mi`),
        { nil: undefined },
      ),
      extensions,
    })
    .map((p) => {
      const out: DeploymentProfile = {
        type: p.type,
        id,
        components: p.components.map((c) => ({
          name: c,
          properties: {
            repository: `oci://registry.example.com/${c}`,
            revision: p.revision,
            ...(p.wait !== undefined ? { wait: p.wait } : {}),
          },
        })),
      };
      if (p.description !== undefined) out.description = p.description;
      if (p.memory !== undefined) out.deviceConstraints = { capacityRequirements: { memory: p.memory } };
      if (p.extensions && Object.keys(p.extensions).length > 0) out.extensions = p.extensions;
      return out;
    });

const description: fc.Arbitrary<ApplicationDescription> = fc
  .record({
    id: fc.stringMatching(/^[a-z0-9-]{1,30}$/),
    name: text,
    description: fc.option(text, { nil: undefined }),
    version: revision,
    org: text,
    profileIds: fc.uniqueArray(fc.stringMatching(/^[a-z][a-z0-9.-]{0,15}$/), { minLength: 1, maxLength: 3 }),
    params: fc.dictionary(
      fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,10}$/),
      fc.option(paramValue, { nil: undefined }),
      {
        maxKeys: 4,
      },
    ),
    extensions,
  })
  .chain((d) =>
    fc.tuple(...d.profileIds.map((id) => profile(id))).map((profiles) => {
      const components = profiles.flatMap((p) => p.components.map((c) => c.name));
      const parameters: Record<string, Parameter> = {};
      Object.entries(d.params).forEach(([n, v], i) => {
        parameters[n] = {
          ...(v !== undefined ? { value: v } : {}),
          targets: [{ pointer: `P_${i}`, components: [components[i % components.length]!] }],
        };
      });
      const desc: ApplicationDescription = {
        id: d.id,
        metadata: {
          name: d.name,
          ...(d.description !== undefined ? { description: d.description } : {}),
          version: d.version,
          catalog: { organization: [{ name: d.org }] },
        },
        deploymentProfiles: profiles,
        parameters,
      };
      if (d.extensions && Object.keys(d.extensions).length > 0) desc.extensions = d.extensions;
      return desc;
    }),
  );

describe('renderApplicationDescription', () => {
  it('renders any valid description so that it parses back equal, without warnings', () => {
    fc.assert(
      fc.property(description, (desc) => {
        const yaml = renderApplicationDescription(desc);
        const parsed = parseApplicationDescription(yaml);
        expect(parsed.description).toEqual(desc);
        expect(parsed.warnings).toEqual([]);
        expect(renderApplicationDescription(parsed.description)).toBe(yaml);
      }),
      { numRuns: 100 },
    );
  });

  it('writes the newest shape: top-level id and deviceConstraints, fixed key order', () => {
    const { description } = parseApplicationDescription(
      readTestdata('examples/application-description-example-002-helm-and-compose.yaml'),
    );
    const yaml = renderApplicationDescription(description);
    expect(
      yaml.startsWith(
        'apiVersion: margo.org/v1-alpha1\nkind: ApplicationDescription\nid: com-northstartida-digitron-orchestrator\nmetadata:\n  name: ',
      ),
    ).toBe(true);
    expect(yaml).not.toContain('requiredResources');
    expect(yaml).toContain('    deviceConstraints:\n      capacityRequirements:\n');
    expect(yaml).not.toMatch(/^ {2}id:/m);
  });

  it('quotes strings that would read back as other types', () => {
    const { description } = parseApplicationDescription(
      readTestdata('examples/application-description-example-001-helm-hello-world.yaml'),
    );
    expect(renderApplicationDescription(description)).toContain('  version: "1.0"\n');
  });

  it('is deterministic: the same description gives the same text', () => {
    const { description } = parseApplicationDescription(readTestdata('valid/compose.yaml'));
    const copy = structuredClone(description);
    expect(renderApplicationDescription(copy)).toBe(renderApplicationDescription(description));
  });
});
