// The one table of layers and environments. `npm run lint` enforces it through lint/layering.mjs;
// CONTRIBUTING.md shows it. A unit is a folder (or a file); the longest matching path names a file's
// unit. Within a unit, imports are free. Across units:
// - a unit imports only the units in its `imports` list (a trailing `/*` means every unit under it);
// - a unit marked `entry` is imported only through its `index.ts` (tests may also use its `testing/`);
// - the environment limits packages: `common` code runs in the browser, the agent and the server alike
//   (no Node built-ins, only the packages listed); `browser` has no Node; `node` has no React/MUI/Electron.
// Test code (`*.test.ts`, `test/`, `bench/`, `testing/` folders) may import anything.

/** Packages each environment may not import (Node built-ins are checked separately). */
export const ENVIRONMENTS = {
  common: { nodeBuiltins: false, packages: ['zod', 'semver'] },
  browser: { nodeBuiltins: false, deny: ['electron', 'electron/*'] },
  node: {
    nodeBuiltins: true,
    deny: ['electron', 'electron/*', 'react', 'react-dom', 'react/*', 'react-dom/*', '@mui/*'],
  },
  'electron-main': { nodeBuiltins: true, deny: ['react', 'react-dom', 'react/*', 'react-dom/*', '@mui/*'] },
};

const LIB_COMMON = ['lib/errors', 'lib/model', 'lib/contract', 'lib/mmi'];

/** @type {{ unit: string, env: keyof typeof ENVIRONMENTS, entry?: boolean, imports: string[], deny?: string[], what: string }[]} */
export const LAYERS = [
  // The shared layer: imported by the control plane, the agent and the CLI alike.
  {
    unit: 'lib/errors',
    env: 'common',
    entry: true,
    imports: [],
    what: 'OutpostError and the general error codes',
  },
  {
    unit: 'lib/model',
    env: 'common',
    entry: true,
    imports: ['lib/errors'],
    what: 'the pure Margo model: types, patterns, quantities, digests, canonical JSON, overall state, parameter rules, placement shapes',
  },
  {
    unit: 'lib/contract',
    env: 'common',
    entry: true,
    imports: ['lib/errors', 'lib/model'],
    what: 'the typed console API (zod), its client and transports, event topics',
  },
  {
    unit: 'lib/mmi',
    env: 'common',
    entry: true,
    imports: ['lib/errors', 'lib/model'],
    what: 'the Margo Management Interface on the wire: routes, enrollment/renewal bodies, problem types',
  },
  {
    unit: 'lib/base',
    env: 'node',
    entry: true,
    imports: ['lib/errors'],
    what: 'clock, home lock, home layout, resources (no dependencies)',
  },
  {
    unit: 'lib/log',
    env: 'node',
    entry: true,
    imports: [],
    what: 'the logger: pino (server, CLI) and a JSON line writer of its own (the agent), same lines',
  },
  {
    unit: 'lib/margo',
    env: 'node',
    entry: true,
    imports: ['lib/errors', 'lib/model'],
    what: 'Margo YAML documents, state manifests, bundles (no Ajv)',
  },
  {
    unit: 'lib/margo-validation',
    env: 'node',
    entry: true,
    imports: ['lib/errors', 'lib/model', 'lib/margo'],
    what: 'Margo request bodies checked against the rc.3 schemas (Ajv)',
  },
  {
    unit: 'lib/identity',
    env: 'node',
    entry: true,
    imports: ['lib/errors', 'lib/base'],
    what: 'SPIFFE IDs, certificates, peers, TLS options, tokens, trust bundles (no X.509 library)',
  },
  {
    unit: 'lib/x509',
    env: 'node',
    entry: true,
    imports: ['lib/errors', 'lib/identity'],
    what: 'general X.509/PKCS#10 building on @peculiar/x509 (heavy; the agent loads it lazily)',
  },
  {
    unit: 'lib/oci',
    env: 'node',
    entry: true,
    imports: ['lib/errors', 'lib/base', 'lib/model', 'lib/log'],
    what: 'OCI references, registry client, blob cache, push defaults',
  },
  {
    unit: 'lib/bus',
    env: 'node',
    entry: true,
    imports: ['lib/errors', 'lib/base', 'lib/log'],
    what: 'NATS subjects, NKEY users, the agent side of the bus',
  },
  {
    unit: 'lib/registry',
    env: 'common',
    entry: true,
    imports: [],
    what: 'site registry naming and mirror rules (where an oci:// reference lives in the site registry)',
  },
  {
    unit: 'lib/smp',
    env: 'node',
    entry: true,
    imports: ['lib/errors', 'lib/base'],
    what: 'Zephyr MCUmgr SMP over a serial line',
  },
  {
    unit: 'lib/bundle',
    env: 'node',
    entry: true,
    imports: ['lib/errors', 'lib/base', 'lib/model', 'lib/oci'],
    what: 'signed air-gap bundles (minisign, OCI layout tar)',
  },
  {
    unit: 'lib/discovery',
    env: 'node',
    entry: true,
    imports: ['lib/errors', 'lib/base', 'lib/identity', 'lib/log'],
    what: 'DNS-SD over mDNS: advertise and browse',
  },
  // The control plane. core/ca is the site CA; the rest of core/ is one unit of domain modules.
  {
    unit: 'core/ca',
    env: 'node',
    entry: true,
    imports: ['lib/errors', 'lib/base', 'lib/identity', 'lib/x509'],
    what: 'the site CA: issuing SVIDs and server certificates',
  },
  {
    unit: 'core',
    env: 'node',
    imports: ['lib/*', 'core/ca'],
    deny: ['@peculiar/x509'],
    what: 'the control plane: domain modules, store, servers, composition (createCore)',
  },
  // The edge agent: the shared layer only, never the control plane, never the schema validator.
  {
    unit: 'agents',
    env: 'node',
    imports: [
      'lib/errors',
      'lib/model',
      'lib/mmi',
      'lib/base',
      'lib/log',
      'lib/margo',
      'lib/identity',
      'lib/x509',
      'lib/oci',
      'lib/registry',
      'lib/bus',
      'lib/smp',
      'lib/discovery',
    ],
    deny: [
      'ajv',
      'ajv/*',
      '@peculiar/x509',
      'drizzle-orm',
      'drizzle-orm/*',
      'better-sqlite3',
      'fastify',
      'zod',
    ],
    what: 'the edge node agent: modules and runtimes',
  },
  // edgectl: control-plane commands speak the contract; host commands start what they host.
  {
    unit: 'cli/lib',
    env: 'node',
    imports: ['lib/*'],
    what: 'what every command shares: connecting, output, errors',
  },
  {
    unit: 'cli/commands/co',
    env: 'node',
    imports: ['lib/*', 'cli/lib'],
    what: 'edgectl co: the contract client',
  },
  { unit: 'cli/commands/oci', env: 'node', imports: ['lib/*', 'cli/lib'], what: 'edgectl oci' },
  { unit: 'cli/commands/smp', env: 'node', imports: ['lib/*', 'cli/lib'], what: 'edgectl smp' },
  { unit: 'cli/commands/bundle', env: 'node', imports: ['lib/*', 'cli/lib'], what: 'edgectl bundle' },
  { unit: 'cli/commands/registry', env: 'node', imports: ['lib/*', 'cli/lib'], what: 'edgectl registry' },
  {
    unit: 'cli/commands/agent',
    env: 'node',
    imports: ['lib/*', 'agents', 'cli/lib'],
    what: 'edgectl agent: hosts the agent',
  },
  {
    unit: 'cli/commands/server.ts',
    env: 'node',
    imports: ['lib/*', 'core', 'cli/lib'],
    what: 'edgectl server: hosts the control plane',
  },
  {
    unit: 'cli/commands/site',
    env: 'node',
    imports: ['lib/*', 'core', 'core/ca', 'cli/lib'],
    what: 'edgectl site: the site identity, with or without a running server',
  },
  { unit: 'cli', env: 'node', imports: ['cli/*', 'lib/*'], what: 'the edgectl entry and command tree' },
  // Desktop and console.
  {
    unit: 'electron/preload.ts',
    env: 'electron-main',
    imports: ['lib/contract', 'lib/errors'],
    what: 'the preload bridge: the contract only',
  },
  { unit: 'electron', env: 'electron-main', imports: ['lib/*', 'core'], what: 'the desktop shell' },
  {
    unit: 'renderer',
    env: 'browser',
    imports: ['lib/contract', 'lib/errors'],
    what: 'the console (React + MUI): the contract only',
  },
];

export const COMMON_LIB = LIB_COMMON;

/** The table as Markdown, for CONTRIBUTING.md (a test keeps the two the same). */
export function layersMarkdown() {
  const rows = LAYERS.map(
    (l) =>
      `| \`${l.unit}\` | ${l.env} | ${l.imports.length ? l.imports.map((i) => `\`${i}\``).join(', ') : '(nothing)'}${
        l.entry ? ' | yes' : ' | '
      } | ${l.what} |`,
  );
  return [
    '| unit | environment | may import | entry only | what it is |',
    '|---|---|---|---|---|',
    ...rows,
  ].join('\n');
}
