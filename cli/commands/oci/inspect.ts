import type { Command } from 'commander';
import type { InspectResult } from '../../../lib/oci/index.js';
import { action } from '../../lib/action.js';
import { globals } from '../../lib/context.js';
import { emit, keyValues, parseFormat, table } from '../../lib/output.js';
import { formatBytes } from '../../lib/format.js';
import { addRegistryOptions, clientFor, parseTarget, type RegistryFlags } from './shared.js';

interface InspectFlags extends RegistryFlags {
  output?: string;
}

function configSummary(r: InspectResult): string {
  const c = r.config;
  if (!c) return '-';
  const content = c.content as { os?: string; architecture?: string } | undefined;
  const platform = content?.os && content.architecture ? ` (${content.os}/${content.architecture})` : '';
  return `${c.mediaType}${platform}, ${formatBytes(c.size)}`;
}

export function renderInspect(r: InspectResult): string {
  const head = keyValues([
    ['reference', r.reference],
    ['digest', r.digest],
    ['media type', r.mediaType],
    ['kind', r.kind],
    ['artifact type', r.artifactType ?? '-'],
    ...(r.kind === 'index' ? [] : ([['config', configSummary(r)]] as [string, string][])),
    ['total size', formatBytes(r.totalSize)],
    ...Object.entries(r.annotations ?? {}).map(([k, v]) => [`  ${k}`, v] as [string, string]),
  ]);
  const body = r.manifests
    ? table(
        ['PLATFORM', 'MEDIA TYPE', 'SIZE', 'DIGEST'],
        r.manifests.map((m) => [
          m.platform
            ? `${m.platform.os}/${m.platform.architecture}${m.platform.variant ? `/${m.platform.variant}` : ''}`
            : '-',
          m.mediaType,
          formatBytes(m.size),
          m.digest,
        ]),
      )
    : table(
        ['TITLE', 'MEDIA TYPE', 'SIZE', 'DIGEST'],
        r.layers.map((l) => [l.title ?? '-', l.mediaType, formatBytes(l.size), l.digest]),
      );
  return `${head}\n\n${body}`;
}

/** `edgectl oci inspect <oci-ref>`: manifest, config and layers, without pulling layers. */
export function register(oci: Command): void {
  addRegistryOptions(
    oci
      .command('inspect')
      .description('show an artifact: digest, kind, artifact type, config, layers (or an index’s manifests)')
      .argument(
        '<oci-ref>',
        '[oci://]host[:port]/repository[:tag][@digest] (site/...: the site registry of the server for --home)',
      )
      .option('-o, --output <format>', 'table, json or yaml'),
  ).action(
    action(async (refText: string, opts: InspectFlags, cmd: Command) => {
      const format = parseFormat(opts.output);
      const ref = await parseTarget(refText, globals(cmd).home);
      const client = await clientFor(ref, opts, globals(cmd).home);
      try {
        const r = await client.inspect(ref);
        await emit(format, r, () => renderInspect(r));
      } finally {
        await client.close();
      }
    }),
  );
}
