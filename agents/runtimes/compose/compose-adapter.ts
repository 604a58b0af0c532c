import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { systemClock, type Clock } from '../../../lib/base/index.js';
import { OutpostError } from '../../../lib/errors/index.js';
import type { Logger } from '../../../lib/log/index.js';
import type { ContainerEngine, ContainerInfo } from '../container/engine.js';
import { lastLine } from '../exec.js';
import {
  hostBootTime,
  pidAlive,
  processCommandLine,
  readJsonFile,
  sleep,
  writeFileAtomic,
} from '../fs-util.js';
import { Label, safeName, WORKLOAD_ID } from '../names.js';
import {
  isImageArtifact,
  RuntimeErrorCode,
  type ApplyOptions,
  type FileArtifact,
  type ProbeResult,
  type RemoveOptions,
  type RuntimeAdapter,
  type WorkloadEvent,
  type WorkloadSpec,
  type WorkloadStatus,
} from '../types.js';
import type { ComposeTool } from './compose-tool.js';
import { COMPOSE_LAYER_MEDIA_TYPES } from './index.js';
import { ENV_NAME, mergeDotenv } from './dotenv.js';
import { COMPOSE_FILE, extractComposeArchive, type ExtractLimits } from './extract-archive.js';

/** The label podman-compose and docker compose both put on containers, networks and volumes. */
export const PROJECT_LABEL = 'com.docker.compose.project';
export const SERVICE_LABEL = 'com.docker.compose.service';
/** Our override file: adds the outpost labels to every service of compose.yaml. */
export const OVERRIDE_FILE = '.outpost-override.yaml';

/** Keys of the tool's own environment that parameters may not replace (they would break the tool). */
const PROTECTED_ENV = new Set([
  'PATH',
  'HOME',
  'CONTAINERS_CONF',
  'CONTAINERS_STORAGE_CONF',
  'XDG_RUNTIME_DIR',
  'DOCKER_HOST',
  'TMPDIR',
]);

export interface ComposeAdapterOptions {
  /** One directory per workload below it: state.json and the extracted app folder(s). */
  stateDir: string;
  /** Finds and cleans up the project's containers, networks and volumes (podman CLI or Docker API). */
  engine: ContainerEngine;
  tool: ComposeTool;
  logger: Logger;
  clock?: Clock;
  instance?: string;
  /** Base environment of the compose tool (PATH, CONTAINERS_CONF, ...); default process.env. */
  env?: NodeJS.ProcessEnv;
  limits?: ExtractLimits;
  stopTimeoutSec?: number;
  /** When the host booted (default from os.uptime()); injectable to test the after-reboot rule. */
  bootTime?: () => number;
}

interface ComposeState {
  workloadId: string;
  deploymentId: string;
  component: string;
  revision: string;
  specHash: string;
  project: string;
  /** Absolute path of the extracted app folder (holds compose.yaml). */
  appDir: string;
  services: string[];
  phase: 'installing' | 'installed';
  /** The tool's last error line when `up` failed. */
  upError?: string;
  /** pid of the compose tool while `up` runs (a crashed agent leaves it behind; the next apply ends it). */
  toolPid?: number;
  updatedAt: number;
}

/**
 * Margo compose workloads: the component's compose archive (already pulled) is checked and extracted
 * safely, parameters become environment variables (process environment and a generated .env), and the
 * project `outpost-<safe workload id>` is brought up with podman-compose or docker compose. Every
 * service carries the outpost labels (through an override file), so an agent restart finds it; removal
 * runs `down` and then sweeps whatever still carries the project label.
 */
export class ComposeAdapter implements RuntimeAdapter {
  readonly kind = 'compose' as const;
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly instance: string;

  constructor(private readonly opts: ComposeAdapterOptions) {
    this.log = opts.logger.child({ component: 'runtime-compose' });
    this.clock = opts.clock ?? systemClock;
    this.instance = opts.instance ?? 'default';
  }

  /** The compose project name of a workload. */
  projectName(workloadId: string): string {
    return safeName(workloadId, 'outpost-');
  }

  private dirFor(workloadId: string): string {
    return path.join(this.opts.stateDir, safeName(workloadId));
  }

  private readState(dir: string): ComposeState | undefined {
    return readJsonFile<ComposeState>(path.join(dir, 'state.json'));
  }

  private writeState(dir: string, st: ComposeState): void {
    writeFileAtomic(path.join(dir, 'state.json'), JSON.stringify(st, null, 2));
  }

  async probe(): Promise<ProbeResult> {
    try {
      const v = await this.opts.tool.version(this.opts.env);
      await this.opts.engine.version();
      return {
        available: true,
        version: v,
        detail: `${this.opts.tool.command.join(' ')} with ${this.opts.engine.name}`,
      };
    } catch (e) {
      return { available: false, detail: (e as Error).message };
    }
  }

  private containers(project: string): Promise<ContainerInfo[]> {
    return this.opts.engine.list({ [PROJECT_LABEL]: project });
  }

  async apply(w: WorkloadSpec, opts: ApplyOptions = {}): Promise<WorkloadStatus> {
    const emit = (type: WorkloadEvent['type'], message?: string) =>
      opts.onEvent?.({ workloadId: w.workloadId, type, at: this.clock.now(), message });
    const artifact = this.validate(w);
    const dir = this.dirFor(w.workloadId);
    const project = this.projectName(w.workloadId);
    const old = this.readState(dir);
    if (old && !opts.force && old.specHash === w.specHash && old.phase === 'installed') {
      const cs = await this.containers(project);
      const boot = (this.opts.bootTime ?? hostBootTime)();
      if (healthy(cs, old.services, boot)) {
        emit('unchanged');
        return this.toStatus(w.workloadId, old, cs);
      }
      const policy = w.restart?.policy ?? 'on-failure';
      // Under `never` a service that stopped stays stopped (as long as its container is there).
      if (policy === 'never' && old.services.every((s) => cs.some((c) => c.labels[SERVICE_LABEL] === s))) {
        emit('unchanged');
        return this.toStatus(w.workloadId, old, cs);
      }
      const restarted = await this.startStopped(old, cs, boot, policy);
      if (restarted) {
        emit('adopted', `started ${restarted.length} stopped service container(s) again`);
        return this.toStatus(w.workloadId, old, await this.containers(project));
      }
    }
    // The new version is extracted and checked before the running one is touched.
    fs.mkdirSync(dir, { recursive: true });
    const appDir = path.join(
      dir,
      `app-${w.specHash.replace(/^[a-z0-9]+:/, '').slice(0, 12)}-${randomBytes(3).toString('hex')}`,
    );
    const extracted = await extractComposeArchive(artifact, appDir, this.opts.limits);
    if (extracted.strippedModes.length) {
      this.log.warn(
        { workloadId: w.workloadId, entries: extracted.strippedModes },
        'setuid/setgid/sticky bits stripped',
      );
    }
    let services: string[];
    try {
      services = composeServices(path.join(appDir, COMPOSE_FILE), w.workloadId);
      this.writeProjectFiles(appDir, w, services);
    } catch (e) {
      fs.rmSync(appDir, { recursive: true, force: true });
      throw e;
    }
    if (old) await this.endStaleTool(old);
    const existing = await this.containers(project);
    emit(old || existing.length ? 'replacing' : 'installing');
    if (old || existing.length) await this.teardown(project, old, { volumes: false, signal: opts.signal });
    const st: ComposeState = {
      workloadId: w.workloadId,
      deploymentId: w.deploymentId,
      component: w.component,
      revision: w.revision,
      specHash: w.specHash,
      project,
      appDir,
      services,
      phase: 'installing',
      updatedAt: this.clock.now(),
    };
    this.writeState(dir, st);
    const env: NodeJS.ProcessEnv = { ...(this.opts.env ?? process.env) };
    for (const [k, v] of Object.entries(w.env)) if (!PROTECTED_ENV.has(k)) env[k] = v;
    const r = await this.opts.tool.up({
      project,
      dir: appDir,
      files: [COMPOSE_FILE, OVERRIDE_FILE],
      env,
      signal: opts.signal,
      onSpawn: (pid) => this.writeState(dir, { ...st, toolPid: pid }),
    });
    const cs = await this.containers(project);
    const upError =
      r.code !== 0 || !healthy(cs, services, (this.opts.bootTime ?? hostBootTime)())
        ? toolError(r.stdout, r.stderr)
        : undefined;
    this.writeState(dir, { ...st, phase: 'installed', upError, updatedAt: this.clock.now() });
    for (const e of fs.readdirSync(dir)) {
      if (e.startsWith('app-') && path.join(dir, e) !== appDir)
        fs.rmSync(path.join(dir, e), { recursive: true, force: true });
    }
    const status = this.toStatus(w.workloadId, { ...st, phase: 'installed', upError }, cs);
    this.log.info({ workloadId: w.workloadId, project, state: status.state }, 'compose project up');
    emit(status.state === 'failed' ? 'failed' : 'started', status.message);
    return status;
  }

  /**
   * The agent restarts a project whose services all still have their containers by starting the stopped
   * ones (killed, exited, stopped by a host shutdown), not by making the project again; a job that
   * finished with 0 during this boot stays finished unless the policy is `always`. Undefined when that
   * cannot be done (a container is missing, or one made by an earlier agent carries the engine's own
   * restart policy): the caller then makes the project again.
   */
  private async startStopped(
    st: ComposeState,
    cs: ContainerInfo[],
    boot: number,
    policy: 'on-failure' | 'always' | 'never',
  ): Promise<ContainerInfo[] | undefined> {
    const mine = st.services.map((s) => cs.find((c) => c.labels[SERVICE_LABEL] === s));
    if (mine.some((c) => c === undefined || c.restartPolicy !== 'no')) return undefined;
    const stopped = (mine as ContainerInfo[]).filter(
      (c) =>
        !(c.state === 'running' || c.state === 'restarting' || c.state === 'paused') &&
        !(
          policy !== 'always' &&
          (c.state === 'exited' || c.state === 'stopped') &&
          c.exitCode === 0 &&
          (c.finishedAt === undefined || c.finishedAt >= boot)
        ),
    );
    try {
      for (const c of stopped) await this.opts.engine.start(c.id);
    } catch (e) {
      this.log.warn(
        { err: (e as Error).message, project: st.project },
        'stopped services do not start; making the project again',
      );
      return undefined;
    }
    return stopped;
  }

  private validate(w: WorkloadSpec): FileArtifact {
    const bad = (m: string) =>
      new OutpostError(
        RuntimeErrorCode.invalidSpec,
        `compose workload ${JSON.stringify(w.workloadId)}: ${m}`,
        { status: 400 },
      );
    if (typeof w.workloadId !== 'string' || !WORKLOAD_ID.test(w.workloadId)) throw bad('invalid workload id');
    if (!w.specHash) throw bad('specHash is missing');
    if (isImageArtifact(w.artifact))
      throw bad('the artifact must be a compose archive (.tar.gz) on local disk');
    if (!COMPOSE_LAYER_MEDIA_TYPES.includes(w.artifact.mediaType)) {
      throw bad(
        `media type ${w.artifact.mediaType} is not a compose archive (${COMPOSE_LAYER_MEDIA_TYPES[0]})`,
      );
    }
    const mem = w.limits?.memoryBytes;
    if (mem !== undefined && (!Number.isInteger(mem) || mem < 6 * 1024 * 1024))
      throw bad(`memory limit ${mem} must be an integer of at least 6 MiB`);
    const cpus = w.limits?.cpus;
    if (cpus !== undefined && !(cpus > 0)) throw bad(`cpus ${cpus} must be positive`);
    for (const [k, v] of Object.entries(w.env ?? {})) {
      if (!ENV_NAME.test(k))
        throw bad(`parameter target ${JSON.stringify(k)} is not an environment variable name`);
      if (typeof v !== 'string' || v.includes('\0'))
        throw bad(`environment variable ${k} must be a string without NUL`);
    }
    return w.artifact;
  }

  private writeProjectFiles(appDir: string, w: WorkloadSpec, services: string[]): void {
    const envFile = path.join(appDir, '.env');
    let existing: string | undefined;
    try {
      if (fs.lstatSync(envFile).isFile()) existing = fs.readFileSync(envFile, 'utf8');
      fs.rmSync(envFile, { force: true });
    } catch {
      // no .env in the archive
    }
    const dotenv = mergeDotenv(existing, w.env);
    fs.writeFileSync(envFile, dotenv.text, { mode: 0o600 });
    const labels = {
      [Label.managed]: 'true',
      [Label.instance]: this.instance,
      [Label.kind]: 'compose',
      [Label.workload]: w.workloadId,
      [Label.deployment]: w.deploymentId,
      [Label.component]: w.component,
      [Label.revision]: w.revision,
      [Label.specHash]: w.specHash,
    };
    // The agent owns restarts (ADR 0207): no service restarts by itself. The profile's limits bound every
    // service (a service's own `deploy.resources.limits` stays when it sets one).
    const limits = {
      ...(w.limits?.memoryBytes ? { mem_limit: `${w.limits.memoryBytes}b` } : {}),
      ...(w.limits?.cpus ? { cpus: w.limits.cpus } : {}),
    };
    const override = {
      services: Object.fromEntries(services.map((s) => [s, { labels, restart: 'no', ...limits }])),
    };
    fs.rmSync(path.join(appDir, OVERRIDE_FILE), { force: true });
    // Quoted: YAML 1.1 readers (podman-compose) take a bare `no` for false.
    fs.writeFileSync(
      path.join(appDir, OVERRIDE_FILE),
      stringify(override, { defaultStringType: 'QUOTE_DOUBLE' }),
    );
  }

  /**
   * A compose tool the previous (crashed) agent started may still be creating containers: end it before
   * touching the project, so it cannot race the new `up` into a duplicate or a half-made project.
   */
  private async endStaleTool(st: ComposeState): Promise<void> {
    const pid = st.toolPid;
    if (st.phase !== 'installing' || pid === undefined || pid === process.pid) return;
    const isOurs = () => pidAlive(pid) && (processCommandLine(pid)?.includes(st.project) ?? false);
    if (!isOurs()) return;
    this.log.warn({ pid, project: st.project }, 'ending a compose tool left running by a previous agent');
    try {
      // The tool runs in its own process group: end it together with the podman commands it started.
      process.kill(-pid, 'SIGKILL');
    } catch {
      return;
    }
    for (let i = 0; i < 100 && isOurs(); i++) await sleep(50);
  }

  /** `down` (when the files are there), then removes what still carries the project label. */
  private async teardown(
    project: string,
    st: ComposeState | undefined,
    opts: { volumes: boolean; signal?: AbortSignal; timeoutSec?: number },
  ): Promise<void> {
    const timeoutSec = opts.timeoutSec ?? this.opts.stopTimeoutSec ?? 10;
    if (st && fs.existsSync(path.join(st.appDir, COMPOSE_FILE))) {
      const files = [
        COMPOSE_FILE,
        ...(fs.existsSync(path.join(st.appDir, OVERRIDE_FILE)) ? [OVERRIDE_FILE] : []),
      ];
      const r = await this.opts.tool
        .down({
          project,
          dir: st.appDir,
          files,
          env: { ...(this.opts.env ?? process.env) },
          timeoutSec,
          volumes: opts.volumes,
          signal: opts.signal,
        })
        .catch((e: unknown) => ({ code: -1, stdout: '', stderr: (e as Error).message }));
      if (r.code !== 0)
        this.log.warn(
          { project, error: toolError(r.stdout, r.stderr) },
          'compose down failed; sweeping by label',
        );
    }
    const engine = this.opts.engine;
    const label = { [PROJECT_LABEL]: project };
    for (const c of await engine.list(label)) {
      if (c.state === 'running' || c.state === 'restarting') await engine.stop(c.id, timeoutSec);
      await engine.remove(c.id);
    }
    for (const n of await engine.networks(label)) await engine.removeNetwork(n);
    if (opts.volumes) for (const v of await engine.volumes(label)) await engine.removeVolume(v);
  }

  async remove(workloadId: string, opts: RemoveOptions = {}): Promise<void> {
    const dir = this.dirFor(workloadId);
    const project = this.projectName(workloadId);
    const st = this.readState(dir);
    if (st) await this.endStaleTool(st);
    const left =
      st !== undefined ||
      fs.existsSync(dir) ||
      (await this.containers(project)).length > 0 ||
      (await this.opts.engine.networks({ [PROJECT_LABEL]: project })).length > 0 ||
      (await this.opts.engine.volumes({ [PROJECT_LABEL]: project })).length > 0;
    if (!left) return;
    opts.onEvent?.({ workloadId, type: 'removing', at: this.clock.now() });
    await this.teardown(project, st, { volumes: true, signal: opts.signal, timeoutSec: opts.stopTimeoutSec });
    fs.rmSync(dir, { recursive: true, force: true });
    this.log.info({ workloadId, project }, 'compose workload removed');
    opts.onEvent?.({ workloadId, type: 'removed', at: this.clock.now() });
  }

  async status(workloadId: string): Promise<WorkloadStatus> {
    const st = this.readState(this.dirFor(workloadId));
    return this.toStatus(workloadId, st, await this.containers(this.projectName(workloadId)));
  }

  async list(): Promise<WorkloadStatus[]> {
    const out = new Map<string, WorkloadStatus>();
    let names: string[] = [];
    try {
      names = fs.readdirSync(this.opts.stateDir);
    } catch {
      // nothing installed yet
    }
    for (const n of names) {
      const st = this.readState(path.join(this.opts.stateDir, n));
      if (st) out.set(st.workloadId, this.toStatus(st.workloadId, st, await this.containers(st.project)));
    }
    // Containers whose state directory is gone still belong to us: list them so they can be removed.
    const orphans = await this.opts.engine.list({
      [Label.managed]: 'true',
      [Label.instance]: this.instance,
      [Label.kind]: 'compose',
    });
    for (const c of orphans) {
      const id = c.labels[Label.workload];
      if (id && !out.has(id)) out.set(id, await this.status(id));
    }
    return [...out.values()].sort((a, b) => a.workloadId.localeCompare(b.workloadId));
  }

  private toStatus(workloadId: string, st: ComposeState | undefined, cs: ContainerInfo[]): WorkloadStatus {
    const now = this.clock.now();
    const base: WorkloadStatus = {
      workloadId,
      kind: 'compose',
      state: 'unknown',
      specHash: st?.specHash ?? cs[0]?.labels[Label.specHash],
      since: Math.max(0, ...cs.map((c) => c.finishedAt ?? c.startedAt ?? 0)) || st?.updatedAt || now,
      restarts: cs.reduce((n, c) => n + c.restartCount, 0),
      handle: st?.project ?? this.projectName(workloadId),
    };
    if (!st && cs.length === 0) return { ...base, state: 'removed', since: now };
    if (st?.phase === 'installing') return { ...base, state: 'installing' };
    const services = st?.services ?? [...new Set(cs.map((c) => c.labels[SERVICE_LABEL] ?? c.name))];
    const problems: string[] = [];
    let created = false;
    let restarting = false;
    let allDone = true;
    for (const s of services) {
      const c = cs.find((x) => x.labels[SERVICE_LABEL] === s);
      if (!c) {
        problems.push(`service ${s} has no container`);
        continue;
      }
      if (c.state === 'created') created = true;
      if (c.state === 'restarting') restarting = true;
      if (c.state === 'running' || c.state === 'restarting' || c.state === 'paused' || c.state === 'created')
        allDone = false;
      if ((c.state === 'exited' || c.state === 'stopped') && c.exitCode !== 0)
        problems.push(`service ${s} exited with code ${c.exitCode}`);
      if (c.state === 'dead') problems.push(`service ${s} is dead`);
    }
    if (problems.length) {
      return {
        ...base,
        state: 'failed',
        message: [problems.join('; '), st?.upError].filter(Boolean).join(': '),
      };
    }
    if (restarting) return { ...base, state: 'restarting' };
    if (created) return { ...base, state: 'pending', message: 'containers created, not started' };
    if (allDone) return { ...base, state: 'exited', exitCode: 0 };
    return { ...base, state: 'running' };
  }
}

/** Every service has a container that runs, or finished with exit code 0 (one-shot jobs). */
/**
 * Every service has a container that runs, or finished with exit code 0 (a one-shot job) during this
 * boot of the host (what stopped before the boot was stopped by the shutdown).
 */
function healthy(cs: ContainerInfo[], services: string[], bootTime: number): boolean {
  return services.every((s) =>
    cs.some(
      (c) =>
        c.labels[SERVICE_LABEL] === s &&
        (c.state === 'running' ||
          c.state === 'restarting' ||
          ((c.state === 'exited' || c.state === 'stopped') &&
            c.exitCode === 0 &&
            (c.finishedAt === undefined || c.finishedAt >= bootTime))),
    ),
  );
}

/** The service names of a compose file (a YAML error or a file without services is refused). */
export function composeServices(file: string, workloadId: string): string[] {
  let doc: unknown;
  try {
    doc = parse(fs.readFileSync(file, 'utf8'), { maxAliasCount: 100 });
  } catch (e) {
    throw new OutpostError(
      RuntimeErrorCode.invalidSpec,
      `compose workload ${workloadId}: compose.yaml is not valid YAML: ${(e as Error).message.split('\n')[0]}`,
      {
        status: 422,
      },
    );
  }
  const services = (doc as { services?: unknown } | null)?.services;
  if (
    !services ||
    typeof services !== 'object' ||
    Array.isArray(services) ||
    Object.keys(services).length === 0
  ) {
    throw new OutpostError(
      RuntimeErrorCode.invalidSpec,
      `compose workload ${workloadId}: compose.yaml defines no services`,
      { status: 422 },
    );
  }
  return Object.keys(services);
}

/** The most telling line of a compose tool's output: podman's last `Error:` line, else the last line. */
function toolError(stdout: string, stderr: string): string {
  const lines = `${stderr}\n${stdout}`.split('\n').map((l) => l.trim());
  const err = lines.filter((l) => /^(Error|error)[: ]/.test(l)).pop();
  return err ?? (lastLine(stderr) || lastLine(stdout) || 'compose up did not start every service');
}

export function createComposeAdapter(opts: ComposeAdapterOptions): ComposeAdapter {
  return new ComposeAdapter(opts);
}
