// ESLint rule `outpost/layers`: enforces the table in lint/layers.mjs on every import, export-from,
// dynamic import() and require() with a literal specifier.
import path from 'node:path';
import { builtinModules } from 'node:module';
import { ENVIRONMENTS, LAYERS } from './layers.mjs';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const BUILTINS = new Set(builtinModules);
const byLength = [...LAYERS].sort((a, b) => b.unit.length - a.unit.length);

/** The layer of a repo-relative path, or undefined for files outside the table. */
export function layerOf(rel) {
  return byLength.find((l) => rel === l.unit || rel.startsWith(l.unit + '/'));
}

export function isTestPath(rel) {
  return (
    /\.test\.tsx?$/.test(rel) ||
    /\.spec\.tsx?$/.test(rel) ||
    rel.startsWith('test/') ||
    rel.startsWith('bench/') ||
    /(^|\/)testing(\/|\.ts$)/.test(rel) ||
    /(^|\/)conformance\//.test(rel) ||
    /(^|\/)test-helpers\.ts$/.test(rel) ||
    /(^|\/)testdata\//.test(rel)
  );
}

function allowedUnits(layer) {
  return layer.imports;
}

function unitAllowed(layer, target) {
  return allowedUnits(layer).some((u) =>
    u.endsWith('/*') ? target.unit.startsWith(u.slice(0, -1)) : target.unit === u,
  );
}

function matches(pattern, name) {
  if (pattern.endsWith('/*')) return name.startsWith(pattern.slice(0, -1));
  return name === pattern;
}

function packageName(spec) {
  const parts = spec.split('/');
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/** What is wrong with importing `spec` from the repo-relative file `rel`, or undefined. */
export function checkImport(rel, spec) {
  if (isTestPath(rel)) return undefined;
  const layer = layerOf(rel);
  if (!layer) return undefined;
  const env = ENVIRONMENTS[layer.env];
  if (spec.startsWith('.')) {
    const abs = path.resolve(root, path.dirname(rel), spec);
    const targetRel = path.relative(root, abs).split(path.sep).join('/');
    const target = layerOf(targetRel.replace(/\.js$/, '.ts'));
    if (!target || target === layer) return undefined;
    if (!unitAllowed(layer, target))
      return `${layer.unit} may not import ${target.unit} (allowed: ${layer.imports.join(', ') || 'nothing'}; see lint/layers.mjs)`;
    if (target.entry) {
      const inner = targetRel.slice(target.unit.length + 1).replace(/\.(js|ts)$/, '');
      if (inner !== 'index' && inner !== '')
        return `import ${target.unit} through its entry (${target.unit}/index.js), not ${targetRel}`;
    }
    return undefined;
  }
  const bare = spec.startsWith('node:') ? spec.slice(5) : spec;
  if (spec.startsWith('node:') || BUILTINS.has(packageName(bare))) {
    if (!env.nodeBuiltins)
      return `${layer.unit} runs in the ${layer.env} environment: no Node built-ins (${spec})`;
    return undefined;
  }
  const name = packageName(spec);
  if (env.packages && !env.packages.includes(name))
    return `${layer.unit} runs in the ${layer.env} environment: only ${env.packages.join(', ')} (not ${name})`;
  for (const d of [...(env.deny ?? []), ...(layer.deny ?? [])])
    if (matches(d, spec) || matches(d, name))
      return `${layer.unit} may not import ${spec} (see lint/layers.mjs)`;
  return undefined;
}

export const layersRule = {
  meta: {
    type: 'problem',
    docs: { description: 'imports follow the table of layers and environments in lint/layers.mjs' },
    schema: [],
  },
  create(context) {
    const rel = path.relative(root, context.filename).split(path.sep).join('/');
    const check = (node, source) => {
      if (!source || source.type !== 'Literal' || typeof source.value !== 'string') return;
      const problem = checkImport(rel, source.value);
      if (problem) context.report({ node: source, message: problem });
    };
    return {
      ImportDeclaration: (n) => check(n, n.source),
      ExportNamedDeclaration: (n) => check(n, n.source),
      ExportAllDeclaration: (n) => check(n, n.source),
      ImportExpression: (n) => check(n, n.source),
      CallExpression: (n) => {
        if (n.callee.type === 'Identifier' && n.callee.name === 'require') check(n, n.arguments[0]);
      },
    };
  },
};

export const plugin = { rules: { layers: layersRule } };
