import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { systemClock, type Clock } from '../../../lib/base/index.js';
import { OutpostError } from '../../../lib/errors/index.js';
import type { Logger } from '../../../lib/log/index.js';
import { isRevision, revisionToSemver } from '../../../lib/model/index.js';
import { checkCommand, lastLine, runCommand, type CommandResult } from '../exec.js';
import { readJsonFile, verifyArtifact, writeFileAtomic } from '../fs-util.js';
import { safeName, WORKLOAD_ID } from '../names.js';
import {
  isImageArtifact,
  RuntimeErrorCode,
  type ApplyOptions,
  type HelmSpec,
  type ProbeResult,
  type RemoveOptions,
  type RuntimeAdapter,
  type WorkloadEvent,
  type WorkloadSpec,
  type WorkloadStatus,
} from '../types.js';
import { helmStatusArgs, helmUninstallArgs, helmUpgradeArgs, type HelmConnection } from './helm-args.js';
import { valuesFromPaths } from './helm-values.js';
import { HELM_CHART_MEDIA_TYPES } from './index.js';

export interface HelmAdapterOptions extends HelmConnection {
  /** Release state files (which releases are ours, with their spec hash) and temporary values files. */
  stateDir: string;
  logger: Logger;
  clock?: Clock;
  /** The helm binary (default `helm` on PATH). */
  binary?: string;
  /** Environment for helm (KUBECONFIG, HELM_* ...); default process.env. */
  env?: NodeJS.ProcessEnv;
  /**
   * `file` (default): values go into a temporary 0600 values file (never on the command line, where
   * other users could read them); `set-json`: one `--set-json path=json` per parameter.
   */
  valuesMode?: 'file' | 'set-json';
  /** `--plain-http` for OCI charts on these registries (host[:port]), e.g. the LO's loopback registry. */
  plainHttpRegistries?: string[];
  /** Kill helm when it runs longer than the Margo timeout plus this margin (default 60 s; 10 min without a timeout). */
  graceMs?: number;
}

interface ReleaseState {
  workloadId: string;
  release: string;
  namespace: string;
  specHash: string;
  revision: string;
  updatedAt: number;
}

/** helm `info.status` values: https://helm.sh/docs/helm/helm_status/ */
type HelmReleaseStatus =
  | 'unknown'
  | 'deployed'
  | 'uninstalled'
  | 'superseded'
  | 'failed'
  | 'uninstalling'
  | 'pending-install'
  | 'pending-upgrade'
  | 'pending-rollback';

/**
 * Margo helm workloads: `helm upgrade --install` of the component's chart (OCI reference, or the chart
 * file the agent pulled) with values from the parameters by dot path, `--wait`/`--timeout` from the
 * component properties, `helm uninstall` on removal. The release name derives from the workload id; a
 * small state file per release records the spec hash so an unchanged deployment is not upgraded again.
 */
export class HelmAdapter implements RuntimeAdapter {
  readonly kind = 'helm' as const;
  private readonly log: Logger;
  private readonly clock: Clock;

  constructor(private readonly opts: HelmAdapterOptions) {
    this.log = opts.logger.child({ component: 'runtime-helm' });
    this.clock = opts.clock ?? systemClock;
  }

  /** The helm release name of a workload (DNS-1123, at most 53 characters). */
  releaseName(workloadId: string): string {
    return safeName(workloadId, '', 53);
  }

  private stateFile(release: string): string {
    return path.join(this.opts.stateDir, `${release}.json`);
  }

  private helm(args: string[], timeoutMs: number, signal?: AbortSignal): Promise<CommandResult> {
    return runCommand(this.opts.binary ?? 'helm', args, { env: this.opts.env, timeoutMs, signal });
  }

  /** helm is usable when it runs and reaches a cluster (`helm list` succeeds). */
  async probe(): Promise<ProbeResult> {
    try {
      const r = await this.helm(['version', '--short'], 10_000);
      if (r.code !== 0) return { available: false, detail: `helm version failed: ${lastLine(r.stderr)}` };
      const version = lastLine(r.stdout).replace(/^v/, '').replace(/\+.*$/, '');
      const conn = [
        ...(this.opts.kubeconfig ? ['--kubeconfig', this.opts.kubeconfig] : []),
        ...(this.opts.kubeContext ? ['--kube-context', this.opts.kubeContext] : []),
      ];
      const l = await this.helm(
        ['list', '--all-namespaces', '--max', '1', '--output', 'json', ...conn],
        15_000,
      );
      if (l.code !== 0) {
        return {
          available: false,
          version,
          detail: `helm ${version} is installed but no Kubernetes cluster is reachable: ${lastLine(l.stderr)}`,
        };
      }
      return { available: true, version };
    } catch (e) {
      return { available: false, detail: (e as Error).message };
    }
  }

  async apply(w: WorkloadSpec, opts: ApplyOptions = {}): Promise<WorkloadStatus> {
    const emit = (type: WorkloadEvent['type'], message?: string) =>
      opts.onEvent?.({ workloadId: w.workloadId, type, at: this.clock.now(), message });
    const h = this.validate(w);
    const release = this.releaseName(w.workloadId);
    const conn = { kubeconfig: this.opts.kubeconfig, kubeContext: this.opts.kubeContext };
    const prev = readJsonFile<ReleaseState>(this.stateFile(release));
    if (prev && !opts.force && prev.specHash === w.specHash && prev.namespace === h.namespace) {
      const st = await this.status(w.workloadId);
      if (st.state === 'running') {
        emit('unchanged');
        return st;
      }
    }
    let chart = h.chartRef;
    if (!isImageArtifact(w.artifact) && HELM_CHART_MEDIA_TYPES.includes(w.artifact.mediaType)) {
      await verifyArtifact(w.artifact, `helm workload ${w.workloadId}`);
      chart = w.artifact.path;
    }
    const isOci = chart.startsWith('oci://');
    const version = isOci && h.version ? revisionToSemver(h.version) : undefined;
    const values = valuesFromPaths(h.values);
    fs.mkdirSync(this.opts.stateDir, { recursive: true });
    const valuesFile = path.join(
      this.opts.stateDir,
      `.values-${release}-${randomBytes(4).toString('hex')}.json`,
    );
    const mode = this.opts.valuesMode ?? 'file';
    const args = helmUpgradeArgs({
      ...conn,
      release,
      chart,
      version,
      namespace: h.namespace,
      wait: h.wait,
      timeout: h.timeout,
      values: mode === 'file' ? { file: valuesFile } : { setJson: h.values },
      plainHttp:
        isOci && (this.opts.plainHttpRegistries ?? []).includes(chart.slice('oci://'.length).split('/')[0]!),
      description: `outpost ${w.deploymentId} ${w.component} ${w.revision}`,
    });
    emit(prev ? 'replacing' : 'installing');
    const timeoutMs = (h.timeout ? durationMs(h.timeout) : 10 * 60_000) + (this.opts.graceMs ?? 60_000);
    try {
      if (mode === 'file') writeFileAtomic(valuesFile, JSON.stringify(values, null, 2), 0o600);
      const r = await this.helm(args, timeoutMs, opts.signal);
      checkCommand(`helm upgrade --install ${release}`, r);
    } catch (e) {
      emit('failed', (e as Error).message);
      throw e;
    } finally {
      fs.rmSync(valuesFile, { force: true });
    }
    const state: ReleaseState = {
      workloadId: w.workloadId,
      release,
      namespace: h.namespace,
      specHash: w.specHash,
      revision: w.revision,
      updatedAt: this.clock.now(),
    };
    writeFileAtomic(this.stateFile(release), JSON.stringify(state, null, 2));
    this.log.info({ workloadId: w.workloadId, release, namespace: h.namespace }, 'helm release installed');
    const st = await this.status(w.workloadId);
    emit(st.state === 'failed' ? 'failed' : 'started', st.message);
    return st;
  }

  private validate(w: WorkloadSpec): HelmSpec {
    const bad = (m: string) =>
      new OutpostError(RuntimeErrorCode.invalidSpec, `helm workload ${JSON.stringify(w.workloadId)}: ${m}`, {
        status: 400,
      });
    if (typeof w.workloadId !== 'string' || !WORKLOAD_ID.test(w.workloadId)) throw bad('invalid workload id');
    if (!w.specHash) throw bad('specHash is missing');
    if (!w.helm) throw bad('the helm section (chart, namespace, values) is missing');
    if (!w.helm.chartRef) throw bad('chartRef is missing');
    if (!w.helm.namespace) throw bad('namespace is missing');
    if (w.helm.version !== undefined && !isRevision(w.helm.version)) {
      throw bad(`chart version ${JSON.stringify(w.helm.version)} is not a SemVer revision`);
    }
    return w.helm;
  }

  async remove(workloadId: string, opts: RemoveOptions = {}): Promise<void> {
    const release = this.releaseName(workloadId);
    const state = readJsonFile<ReleaseState>(this.stateFile(release));
    if (!state) return;
    opts.onEvent?.({ workloadId, type: 'removing', at: this.clock.now() });
    const args = helmUninstallArgs({
      release,
      namespace: state.namespace,
      kubeconfig: this.opts.kubeconfig,
      kubeContext: this.opts.kubeContext,
      wait: true,
      timeout: `${opts.stopTimeoutSec ?? 300}s`,
    });
    const r = await this.helm(args, ((opts.stopTimeoutSec ?? 300) + 60) * 1000, opts.signal);
    if (r.code !== 0 && !/not found/i.test(r.stderr)) checkCommand(`helm uninstall ${release}`, r);
    fs.rmSync(this.stateFile(release), { force: true });
    this.log.info({ workloadId, release }, 'helm release uninstalled');
    opts.onEvent?.({ workloadId, type: 'removed', at: this.clock.now() });
  }

  async status(workloadId: string): Promise<WorkloadStatus> {
    const release = this.releaseName(workloadId);
    const state = readJsonFile<ReleaseState>(this.stateFile(release));
    const base = { workloadId, kind: 'helm' as const, since: this.clock.now(), restarts: 0, handle: release };
    if (!state) return { ...base, state: 'removed' };
    const withHash = { ...base, specHash: state.specHash, since: state.updatedAt };
    let r: CommandResult;
    try {
      r = await this.helm(
        helmStatusArgs({
          release,
          namespace: state.namespace,
          kubeconfig: this.opts.kubeconfig,
          kubeContext: this.opts.kubeContext,
        }),
        30_000,
      );
    } catch (e) {
      return { ...withHash, state: 'unknown', message: (e as Error).message };
    }
    if (r.code !== 0) {
      if (/not found/i.test(r.stderr))
        return { ...withHash, state: 'failed', message: `release ${release} is not installed` };
      return { ...withHash, state: 'unknown', message: `helm status failed: ${lastLine(r.stderr)}` };
    }
    let info: { status?: HelmReleaseStatus; description?: string; last_deployed?: string };
    try {
      info = (JSON.parse(r.stdout) as { info?: typeof info }).info ?? {};
    } catch {
      return { ...withHash, state: 'unknown', message: 'helm status printed no JSON' };
    }
    const since = Date.parse(info.last_deployed ?? '') || state.updatedAt;
    switch (info.status) {
      case 'deployed':
        return { ...withHash, since, state: 'running' };
      case 'failed':
        return { ...withHash, since, state: 'failed', message: info.description };
      case 'pending-install':
      case 'pending-upgrade':
      case 'pending-rollback':
        return { ...withHash, since, state: 'installing', message: info.status };
      case 'uninstalling':
      case 'uninstalled':
        return { ...withHash, since, state: 'removed', message: info.status };
      default:
        return { ...withHash, since, state: 'unknown', message: info.status };
    }
  }

  async list(): Promise<WorkloadStatus[]> {
    let files: string[];
    try {
      files = fs.readdirSync(this.opts.stateDir).filter((f) => f.endsWith('.json') && !f.startsWith('.'));
    } catch {
      return [];
    }
    const out: WorkloadStatus[] = [];
    for (const f of files.sort()) {
      const s = readJsonFile<ReleaseState>(path.join(this.opts.stateDir, f));
      if (s?.workloadId) out.push(await this.status(s.workloadId));
    }
    return out;
  }
}

/** `8m30s` / `1h` / `90s` → milliseconds. */
export function durationMs(d: string): number {
  const m = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(d);
  if (!m) return 0;
  return ((Number(m[1] ?? 0) * 60 + Number(m[2] ?? 0)) * 60 + Number(m[3] ?? 0)) * 1000;
}

export function createHelmAdapter(opts: HelmAdapterOptions): HelmAdapter {
  return new HelmAdapter(opts);
}
