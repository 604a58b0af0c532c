import path from 'node:path';
import type { Command } from 'commander';
import { OutpostError, isOutpostError } from '../../../lib/errors/index.js';
import { action, reportError } from '../../lib/action.js';
import { globals } from '../../lib/context.js';
import { emit, keyValues, parseFormat } from '../../lib/output.js';
import { formatBytes } from '../../lib/format.js';
import { addRegistryOptions, clientFor, parseTarget, withInterrupt, type RegistryFlags } from './shared.js';

interface PushFlags extends RegistryFlags {
  artifactType?: string;
  mediaType?: string;
  annotation?: string[];
  output?: string;
}

const HELP = `
What is pushed, unless --artifact-type / --media-type say otherwise:
  *.wasm (or a file that starts with the WASM magic)
      a WASM module: config application/vnd.wasm.config.v0+json
      ({architecture: wasm, os: wasip1, layerDigests}), one layer application/wasm
  *.tar.gz / *.tgz holding <dir>/compose.yaml
      a Margo compose archive: artifactType application/vnd.org.margo.component.compose+json,
      one layer application/vnd.org.margo.component.compose.tar+gzip (layout rules checked)
  margo.yaml
      a Margo application package: artifactType application/vnd.margo.app.v1+json, empty config,
      layer application/vnd.margo.app.description.v1+yaml plus the icon, descriptionFile,
      licenseFile and releaseNotes files that metadata.catalog.application names
  anything else
      needs --artifact-type; the layer is --media-type (default application/octet-stream)
Every layer carries its file name as org.opencontainers.image.title.

The site registry of the server running for --home (or EDGE_HOME; see edgectl registry status) needs
no flags: "site/" names it (its loopback listener), its loopback URL is plain HTTP, its HTTPS URL is
verified with the site CA, and the server's token is used. Push artifacts there under their origin's
name (host/repository; a port becomes _port) and agents pull them through it.

Examples:
  edgectl oci push hello.wasm site/registry.example/samples/hello:1.0.0
  edgectl oci push hello.wasm 127.0.0.1:7501/registry.example/samples/hello:1.0.0
  edgectl oci push sensor.wasm oci://127.0.0.1:5000/wasm/sensor:1.0.0 --plain-http
  edgectl oci push web.tar.gz registry.site.local/compose/web:2.1.0 --ca site-ca.pem
  echo "$PASS" | edgectl oci push model.onnx reg.example.com/models/m:3 \\
      --artifact-type application/vnd.acme.model.v1 --media-type application/onnx -u ci --password-stdin
`;

function parseAnnotations(list: string[] = []): Record<string, string> {
  const out: Record<string, string> = {};
  for (const a of list) {
    const i = a.indexOf('=');
    if (i <= 0) throw new OutpostError('invalid-input', `--annotation "${a}" must be key=value`);
    out[a.slice(0, i)] = a.slice(i + 1);
  }
  return out;
}

/** `edgectl oci push <file> <oci-ref>`: publish a WASM module, compose archive, app package or any file. */
export function register(oci: Command): void {
  addRegistryOptions(
    oci
      .command('push')
      .description(
        'push a file to an OCI registry as an artifact (WASM module, compose archive, Margo app package, any file)',
      )
      .argument('<file>', 'the file to push')
      .argument(
        '<oci-ref>',
        'where to: [oci://]host[:port]/repository:tag (site/repository:tag: the site registry of the server for --home)',
      )
      .option('--artifact-type <type>', 'the manifest artifactType (overrides the default for the file)')
      .option('--media-type <type>', 'the media type of the file layer')
      .option(
        '-a, --annotation <key=value>',
        'a manifest annotation (repeatable)',
        (v: string, prev: string[] = []) => [...prev, v],
      )
      .option('-o, --output <format>', 'table, json or yaml'),
  )
    .addHelpText('after', HELP)
    .action(
      action(async (file: string, refText: string, opts: PushFlags, cmd: Command) => {
        const format = parseFormat(opts.output);
        const { formatReference, planPush } = await import('../../../lib/oci/index.js');
        const { createProgress } = await import('../../lib/progress.js');
        const ref = await parseTarget(refText, globals(cmd).home);
        if (!ref.tag || ref.digest)
          throw new OutpostError(
            'invalid-input',
            `${refText}: push needs a tag and no digest (host/repository:tag)`,
          );
        const annotations = parseAnnotations(opts.annotation);
        const plan = await planPush(file, {
          artifactType: opts.artifactType,
          mediaType: opts.mediaType,
          tag: ref.tag,
        });
        for (const w of plan.warnings) process.stderr.write(`edgectl: warning: ${w}\n`);
        process.stderr.write(`pushing ${path.basename(file)} to ${formatReference(ref)} as ${plan.reason}\n`);
        const client = await clientFor(ref, opts, globals(cmd).home);
        const progress = createProgress();
        try {
          const result = await withInterrupt((signal) =>
            client.push({
              ref,
              files: plan.files,
              ...(plan.config ? { config: plan.config } : {}),
              ...(plan.artifactType ? { artifactType: plan.artifactType } : {}),
              annotations: { ...plan.annotations, ...annotations },
              signal,
              onProgress: (p) => {
                const name = path.basename(p.name);
                if (p.state === 'done' || p.state === 'exists') progress.finish(name);
                else progress.update(name, p.transferred, p.total, p.state);
              },
            }),
          );
          progress.stop();
          const size = result.manifest.config.size + result.manifest.layers.reduce((n, l) => n + l.size, 0);
          const pushed = formatReference(ref);
          await emit(
            format,
            {
              reference: pushed,
              digest: result.digest,
              kind: plan.kind,
              artifactType: result.manifest.artifactType ?? null,
              config: result.manifest.config,
              layers: result.manifest.layers,
            },
            () =>
              keyValues([
                ['pushed', pushed],
                ['digest', result.digest],
                ['kind', plan.kind],
                ['artifact type', result.manifest.artifactType ?? '-'],
                ['layers', result.manifest.layers.map((l) => l.mediaType).join(', ')],
                ['size', formatBytes(size)],
              ]),
          );
        } catch (err) {
          progress.stop();
          if (isOutpostError(err, 'cancelled')) {
            reportError(
              new OutpostError('cancelled', `push of ${refText} cancelled`),
              Boolean(globals(cmd).debug),
            );
            process.exitCode = 130;
            return;
          }
          throw err;
        } finally {
          await client.close();
        }
      }),
    );
}
