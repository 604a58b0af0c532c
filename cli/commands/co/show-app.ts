import type { Command } from 'commander';
import { action } from '../../lib/action.js';
import { connect, globals } from '../../lib/context.js';
import { emit, keyValues, parseFormat } from '../../lib/output.js';

/** `edgectl co show app <id> [--version V]` */
export function register(show: Command): void {
  show
    .command('app <id>')
    .description('show an application version: profiles, components, parameters, configuration, constraints')
    .option('--version <version>', 'which version (default: the newest)')
    .option('--original', 'print the margo.yaml exactly as registered')
    .option('-o, --output <format>', 'table, json or yaml')
    .action(
      action(
        async (id: string, opts: { version?: string; original?: boolean; output?: string }, cmd: Command) => {
          const format = parseFormat(opts.output);
          const { client } = connect(globals(cmd));
          const r = await client.apps.get({ id, ...(opts.version ? { version: opts.version } : {}) });
          if (opts.original) {
            process.stdout.write(r.original);
            return;
          }
          const d = r.version.description;
          await emit(format, { app: r.app, version: r.version }, () => {
            const out = [
              keyValues([
                ['id', r.app.id],
                ['name', r.app.name],
                ['version', `${r.version.version} (versions: ${r.app.versions.join(', ')})`],
                ['tagline', r.app.tagline],
                ['vendor', r.app.vendor],
                ['site', r.app.site],
                ['digest', r.version.digest],
                [
                  'source',
                  `${r.version.source.kind} ${r.version.source.location}${r.version.source.ref ? `@${r.version.source.ref}` : ''}${r.version.source.commit ? ` (${r.version.source.commit.slice(0, 12)})` : ''}`,
                ],
              ]),
              '',
              'deployment profiles:',
            ];
            for (const p of d.deploymentProfiles) {
              out.push(`  ${p.id} (${p.type})`);
              for (const c of p.components) {
                out.push(
                  `    component ${c.name}: ${c.properties.repository ?? c.properties.packageLocation ?? '-'}${c.properties.revision ? ` ${c.properties.revision}` : ''}`,
                );
              }
              const cap = p.deviceConstraints?.capacityRequirements;
              if (cap)
                out.push(
                  `    needs: ${[cap.cpu ? `${cap.cpu.cores} cpu${cap.cpu.architectures ? ` (${cap.cpu.architectures.join('|')})` : ''}` : '', cap.memory ? `memory ${cap.memory}` : '', cap.storage ? `storage ${cap.storage}` : ''].filter(Boolean).join(', ')}`,
                );
              for (const [i, rule] of (p.deviceConstraints?.eligibilityRules ?? []).entries()) {
                const exprs = [
                  ...(rule.propertySelector?.matchExpressions ?? []),
                  ...(rule.labelSelector?.matchExpressions ?? []),
                ];
                out.push(
                  `    rule ${i + 1}: ${exprs.map((e) => `${e.key} ${e.operator}${e.values ? ` ${JSON.stringify(e.values)}` : ''}`).join(' AND ')}`,
                );
              }
            }
            const params = Object.entries(d.parameters);
            if (params.length) {
              out.push('', 'parameters:');
              for (const [name, p] of params) {
                out.push(
                  `  ${name}${p.value !== undefined ? ` = ${JSON.stringify(p.value)}` : ''}  -> ${p.targets.map((t) => `${t.components.join(',')}:${t.pointer}`).join('; ')}`,
                );
              }
            }
            for (const s of d.configuration?.sections ?? []) {
              out.push('', `configuration: ${s.name}`);
              for (const st of s.settings)
                out.push(
                  `  ${st.name} (${st.parameter}, schema ${st.schema})${st.immutable ? ' immutable' : ''}${st.description ? `: ${st.description}` : ''}`,
                );
            }
            for (const w of r.version.warnings) out.push(`warning: ${w.path}: ${w.message}`);
            return out.join('\n');
          });
        },
      ),
    );
}
