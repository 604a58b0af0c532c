import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { markEnrolled, startTestCore } from '../test/helpers/core.js';
import { WASM_APP } from '../test/fixtures/margo.js';
import { TOPICS, events, type ChangedEvent, type Topic } from '../lib/contract/index.js';
import { UNANNOUNCED } from '../renderer/query-keys.js';

/**
 * The topics of `changed` events (lib/contract/events.ts) as both sides use them: the core announces
 * only declared topics, and announces the one the console keys the changed data under; the console
 * keys each query by the topic of the data it reads (and watches the other topics that data depends
 * on), so every announcement reaches the pages that show it.
 */

/**
 * What the console must listen to for the data of each service it reads (`<service>` or
 * `<service>.<method>`): the first topic is the one its query key starts with. A deployment's view and a
 * placement preview also change when nodes do (presence, labels, cordons, capacity).
 */
const NEEDS: Record<string, readonly Topic[] | 'unannounced'> = {
  apps: ['apps'],
  deviceModels: ['device-models'],
  sites: ['sites'],
  nodes: ['nodes'],
  deployments: ['deployments'],
  'deployments.get': ['deployments', 'nodes'],
  'deployments.place': ['deployments', 'nodes'],
  // Each site's link (ADR 0165): the core announces `sites` when a link's state or repairs change.
  'messaging.siteLinks': ['sites'],
  'system.status': ['system'],
  'system.audit': ['audit'],
  'system.whoami': 'unannounced',
  // The site CA, shown on Settings: changes only by initCa, with the server's own status.
  'identity.ca': ['system'],
  enrollRequests: ['enroll-requests'],
  discovery: ['discovery'],
  bundle: ['bundles'],
  'bundle.drives': ['drives'],
  'bundle.job': 'unannounced',
  'health.attention': ['metrics', 'nodes', 'deployments', 'sites'],
  'health.series': ['metrics'],
  'nodes.detail': ['nodes', 'deployments'],
  'nodes.fit': ['nodes', 'apps', 'deployments'],
};
const needsOf = (service: string, method: string) => NEEDS[`${service}.${method}`] ?? NEEDS[service];

const ROOT = path.resolve(import.meta.dirname, '..');

function sources(dir: string): { file: string; text: string }[] {
  return fs
    .readdirSync(path.join(ROOT, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => /\.tsx?$/.test(f) && !/\.test\.tsx?$/.test(f) && !f.split(path.sep).includes('testing'))
    .map((f) => ({
      file: path.join(dir, f),
      text: fs.readFileSync(path.join(ROOT, dir, f), 'utf8'),
    }));
}

/** The text from the bracket at `open` to its partner, inclusive. */
function balanced(text: string, open: number): string {
  const pairs: Record<string, string> = { '(': ')', '[': ']', '{': '}' };
  const stack: string[] = [];
  for (let i = open; i < text.length; i++) {
    const c = text[i]!;
    if (pairs[c]) stack.push(pairs[c]);
    else if (c === stack[stack.length - 1]) {
      stack.pop();
      if (stack.length === 0) return text.slice(open, i + 1);
    }
  }
  throw new Error(`unbalanced bracket at ${open}`);
}

describe('the topics the core announces', () => {
  let t: Awaited<ReturnType<typeof startTestCore>>;
  const seen: ChangedEvent[] = [];

  beforeAll(async () => {
    t = await startTestCore({ overrides: { mmi: { enabled: true } } });
    t.core.events.subscribe((e) => {
      if (e.type === 'changed') seen.push(e.data);
    });
  });
  afterAll(async () => t?.stop());

  /** The topics announced while `fn` runs (the hub publishes synchronously). */
  async function announced(fn: () => Promise<unknown>): Promise<Topic[]> {
    seen.length = 0;
    await fn();
    // Each event is one the contract accepts: declared topics only, at least one.
    for (const e of seen) expect(events.changed.parse(e)).toEqual(e);
    return [...new Set(seen.flatMap((e) => e.topics))].sort();
  }

  it('announces, for each use case, the topics of the data it changed', async () => {
    const c = t.core.client();
    const cases: [string, () => Promise<unknown>, Topic[]][] = [
      [
        'apps.add',
        () =>
          c.apps.add({
            source: { kind: 'upload', upload: { fileName: 'margo.yaml', content: WASM_APP('1.0.0') } },
          }),
        ['apps'],
      ],
      [
        'deviceModels.add',
        () =>
          c.deviceModels.add({
            upload: {
              fileName: 'g12.yaml',
              content:
                'id: g12\nvendor: EdgeCircuit\nmodelNumber: G12\nruntimes: [wasm]\ndeploymentTypes: [custom]\ncapabilities:\n  properties:\n    memory: 4Gi\n',
            },
          }),
        ['device-models'],
      ],
      ['sites.add', () => c.sites.add({ id: 'plant' }), ['sites']],
      [
        'nodes.add (with a model)',
        () => c.nodes.add({ name: 'n1', siteId: 'plant', modelId: 'g12' }),
        ['device-models', 'nodes', 'sites'],
      ],
      ['nodes.label', () => c.nodes.label({ name: 'n1', set: { line: 'a' }, remove: [] }), ['nodes']],
      ['nodes.cordon', () => c.nodes.cordon({ name: 'n1' }), ['nodes']],
      ['nodes.uncordon', () => c.nodes.uncordon({ name: 'n1' }), ['nodes']],
      [
        'sites.addOrchestrator',
        async () => {
          await c.sites.add({ id: 'yard', servedBy: 'remote' });
          seen.length = 0;
          return c.sites.addOrchestrator({ id: 'lo-yard', siteId: 'yard' });
        },
        ['sites'],
      ],
      ['sites.set (air-gapped)', () => c.sites.set({ id: 'yard', airGapped: true }), ['bundles', 'sites']],
    ];
    // At least these: the server also announces things of its own meanwhile (its NATS state, `system`).
    for (const [what, fn, topics] of cases)
      expect(await announced(fn), what).toEqual(expect.arrayContaining(topics));

    // A node that enrolled and reported its capabilities (fixture), then a deployment placed on it.
    markEnrolled(t.core, 'n1');
    let id = '';
    expect(
      await announced(async () => {
        id = (await c.deployments.create({ appId: 'hello-wasm', target: { nodes: ['n1'] } })).id;
      }),
      'deployments.create',
    ).toContain('deployments');
    expect(await announced(() => c.deployments.remove({ id })), 'deployments.remove').toContain(
      'deployments',
    );
  });

  it('names only declared topics where it announces, and every declared topic somewhere', () => {
    const named = new Map<string, string>();
    for (const { file, text } of sources('core')) {
      // The hub's `events.changed(tenantId, ...topics)`, and local helpers called with topics only
      // (`changed('system')`); not other functions named `changed` (`changed(row)`).
      const calls =
        /\.changed\(((?:[^()]|\([^()]*\))*)\)|(?<![.\w])changed\((\s*'[^']*'(?:\s*,\s*'[^']*')*\s*)\)/g;
      for (const m of text.matchAll(calls))
        for (const q of (m[1] ?? m[2])!.matchAll(/'([^']*)'/g)) named.set(q[1]!, file);
    }
    for (const [topic, file] of named)
      expect(TOPICS as readonly string[], `${file} announces "${topic}"`).toContain(topic);
    expect([...named.keys()].sort()).toEqual([...TOPICS].sort());
  });
});

describe('the topics the console listens to', () => {
  const files = sources('renderer');
  const text = (file: string) => files.find((f) => f.file === file)!.text;

  /** The first element of a query key expression: an array literal, a const, or a key function. */
  function scopeOf(file: string, expr: string): string {
    const literal = /^\[\s*'([^']+)'/.exec(expr);
    if (literal) return literal[1]!;
    const name = /^(\w+)\s*;?$/.exec(expr.split('\n')[0]!)?.[1];
    const local = name && new RegExp(`const ${name}(?::\\s*\\w+)?\\s*=\\s*`).exec(text(file));
    if (local) {
      const rest = text(file).slice(local.index + local[0].length);
      return scopeOf(file, rest.startsWith('[') ? balanced(rest, 0) : rest);
    }
    const call = /^(\w+)\(/.exec(expr)?.[1];
    for (const f of files) {
      const fn = call && new RegExp(`\\b${call}\\s*=\\s*\\([^)]*\\)\\s*=>\\s*\\[\\s*'([^']+)'`).exec(f.text);
      if (fn) return fn[1]!;
    }
    throw new Error(`${file}: cannot tell the topic of the query key ${expr.slice(0, 60)}`);
  }

  /** Every useQuery of the console: the service and method it reads, and the topics that refetch it. */
  const queries = files.flatMap(({ file, text: src }) =>
    [...src.matchAll(/\buseQuery\(/g)].flatMap((m) => {
      let arg = balanced(src, m.index + m[0].length - 1);
      // `useQuery(options)`: the options object a const of the same file holds (renderer/session.ts).
      const named = /^\(\s*(\w+)\s*\)$/.exec(arg)?.[1];
      const def = named && new RegExp(`const ${named}(?::[^=]+)?\\s*=\\s*\\{`).exec(src);
      if (def) arg = balanced(src, def.index + def[0].length - 1);
      const api = /\bapi\.(\w+)\.(\w+)\(/.exec(arg);
      if (!api) {
        // The watcher that useRefetchOn registers under a topic reads nothing itself.
        expect(file, `a query that reads no api in ${file}`).toMatch(/use-refetch-on\.ts$/);
        return [];
      }
      const keyAt = arg.indexOf('queryKey:');
      expect(keyAt, `${file}: a query without a queryKey`).toBeGreaterThan(0);
      const after = arg.slice(keyAt + 'queryKey:'.length).trimStart();
      const keyExpr = after.startsWith('[') ? balanced(after, 0) : /^[\w.]+(\([^)]*\))?/.exec(after)![0];
      const keyName = /^\w+$/.test(keyExpr) ? keyExpr : null;
      const watched = keyName
        ? [...src.matchAll(new RegExp(`useRefetchOn\\('([^']+)',\\s*${keyName}\\b`, 'g'))].map((w) => w[1]!)
        : [];
      return [
        { file, service: api[1]!, method: api[2]!, scope: scopeOf(file, keyExpr), watched: [...watched] },
      ];
    }),
  );

  it('finds the queries of every page', () => {
    expect(queries.length).toBeGreaterThan(10);
    // Only useQuery is understood here: another query hook would escape the checks below.
    for (const { file, text: src } of files)
      expect(src, file).not.toMatch(/\buse(?:Suspense|Infinite)\w*Quer(?:y|ies)\(|\buseQueries\(/);
  });

  it('keys each query by the topic of the data it reads and watches what that data depends on', () => {
    for (const q of queries) {
      const where = `${q.file}: api.${q.service}.${q.method}`;
      const needs = needsOf(q.service, q.method);
      expect(needs, `${where} reads data this test does not know (add it to NEEDS)`).toBeDefined();
      if (needs === 'unannounced') {
        expect(UNANNOUNCED as readonly string[], where).toContain(q.scope);
        continue;
      }
      expect(q.scope, `${where} is keyed under the wrong topic`).toBe(needs![0]);
      expect([q.scope, ...q.watched].sort(), `${where} does not refetch on every topic it needs`).toEqual(
        expect.arrayContaining([...needs!]),
      );
    }
  });

  it('listens to every topic the core announces; the scopes it keeps to itself are never announced', () => {
    const heard = new Set(queries.flatMap((q) => [q.scope, ...q.watched]));
    for (const topic of TOPICS) expect(heard.has(topic), `no console query listens to "${topic}"`).toBe(true);
    for (const scope of UNANNOUNCED) expect(TOPICS as readonly string[]).not.toContain(scope);
  });
});
