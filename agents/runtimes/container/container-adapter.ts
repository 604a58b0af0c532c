import { systemClock, type Clock } from '../../../lib/base/index.js';
import { OutpostError } from '../../../lib/errors/index.js';
import type { Logger } from '../../../lib/log/index.js';
import { hostBootTime } from '../fs-util.js';
import { Label, safeName, WORKLOAD_ID } from '../names.js';
import {
  isImageArtifact,
  RuntimeErrorCode,
  type ApplyOptions,
  type ImageArtifact,
  type ProbeResult,
  type RemoveOptions,
  type RuntimeAdapter,
  type WorkloadEvent,
  type WorkloadSpec,
  type WorkloadStatus,
} from '../types.js';
import type { ContainerCreateSpec, ContainerEngine, ContainerInfo } from './engine.js';

export interface ContainerAdapterOptions {
  engine: ContainerEngine;
  logger: Logger;
  clock?: Clock;
  /** Agent instance id, put on every container as a label and used to find them (default `default`). */
  instance?: string;
  /** Remove the workload's image after removing the container when nothing else uses it (default false). */
  removeImages?: boolean;
  /** Seconds a container gets to stop before it is killed (default 10). */
  stopTimeoutSec?: number;
  /** When the host booted (default from os.uptime()); injectable to test the after-reboot rule. */
  bootTime?: () => number;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

/**
 * One container per workload (Margo `custom`/oci workloads, and what a one-service compose profile
 * amounts to), named `outpost-<safe workload id>` and labelled with the workload id and spec hash, so the
 * adapter finds it again after an agent restart and a crash mid-install never leaves a duplicate.
 */
export class ContainerAdapter implements RuntimeAdapter {
  readonly kind = 'container' as const;
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly instance: string;

  constructor(private readonly opts: ContainerAdapterOptions) {
    this.log = opts.logger.child({ component: 'runtime-container' });
    this.clock = opts.clock ?? systemClock;
    this.instance = opts.instance ?? 'default';
  }

  /** The container name of a workload. */
  containerName(workloadId: string): string {
    return safeName(workloadId, 'outpost-', 100);
  }

  async probe(): Promise<ProbeResult> {
    try {
      const v = await this.opts.engine.version();
      return {
        available: true,
        version: v.version,
        detail: `${this.opts.engine.name}${v.detail ? `: ${v.detail}` : ''}`,
      };
    } catch (e) {
      return { available: false, detail: (e as Error).message };
    }
  }

  async apply(w: WorkloadSpec, opts: ApplyOptions = {}): Promise<WorkloadStatus> {
    const emit = (type: WorkloadEvent['type'], message?: string) =>
      opts.onEvent?.({ workloadId: w.workloadId, type, at: this.clock.now(), message });
    const art = this.validate(w);
    const engine = this.opts.engine;
    const name = this.containerName(w.workloadId);
    const existing = await engine.inspect(name);
    if (existing && existing.labels[Label.instance] !== this.instance) {
      throw new OutpostError(
        'conflict',
        `container ${name} for workload ${w.workloadId} belongs to another agent instance (${existing.labels[Label.instance] ?? 'unlabelled'})`,
        { status: 409 },
      );
    }
    if (existing && !opts.force && existing.labels[Label.specHash] === w.specHash) {
      if (this.converged(existing, w)) {
        emit('unchanged');
        return this.toStatus(existing);
      }
      // Same spec, not running (created but never started after a crash mid-install, stopped by a host
      // shutdown, or exited and due for a restart by the agent's policy): start the container that is
      // there instead of creating a second one. One made by an earlier agent with the engine's own
      // restart policy is made again without it (the agent owns restarts, ADR 0207).
      if (existing.restartPolicy === 'no')
        try {
          await engine.start(existing.id);
          emit('adopted', `started existing container ${existing.id.slice(0, 12)}`);
          return this.toStatus((await engine.inspect(existing.id)) ?? existing);
        } catch (e) {
          this.log.warn({ err: e, container: name }, 'existing container does not start; replacing it');
        }
    }
    // Pull before touching the running container: a failed pull leaves the old version running.
    await this.ensureImage(art, opts.signal);
    emit(existing ? 'replacing' : 'installing');
    if (existing) {
      await engine.stop(existing.id, this.opts.stopTimeoutSec ?? 10);
      await engine.remove(existing.id);
    }
    const id = await engine.create(this.createSpec(w, art, name), opts.signal);
    await engine.start(id);
    const info = await engine.inspect(id);
    this.log.info({ workloadId: w.workloadId, container: name, id }, 'container started');
    const status = info ? this.toStatus(info) : this.removed(w.workloadId);
    emit(status.state === 'failed' ? 'failed' : 'started', status.message);
    return status;
  }

  private validate(w: WorkloadSpec): ImageArtifact {
    const bad = (m: string) =>
      new OutpostError(
        RuntimeErrorCode.invalidSpec,
        `container workload ${JSON.stringify(w.workloadId)}: ${m}`,
        { status: 400 },
      );
    if (typeof w.workloadId !== 'string' || !WORKLOAD_ID.test(w.workloadId)) throw bad('invalid workload id');
    if (!w.specHash) throw bad('specHash is missing');
    if (!isImageArtifact(w.artifact) || !w.artifact.image.trim())
      throw bad('the artifact must be an image reference');
    for (const [k, v] of Object.entries(w.env ?? {})) {
      if (!ENV_NAME.test(k)) throw bad(`environment variable name ${JSON.stringify(k)} is not valid`);
      if (typeof v !== 'string' || v.includes('\0'))
        throw bad(`environment variable ${k} must be a string without NUL`);
    }
    const mem = w.limits?.memoryBytes;
    if (mem !== undefined && (!Number.isInteger(mem) || mem < 6 * 1024 * 1024)) {
      throw bad(`memory limit ${mem} must be an integer of at least 6 MiB`);
    }
    const cpus = w.limits?.cpus;
    if (cpus !== undefined && !(cpus > 0)) throw bad(`cpus ${cpus} must be positive`);
    return w.artifact;
  }

  /**
   * Whether the container is what the spec wants as it is. A container that exited is restarted by the
   * agent when its policy says so (the agent calls `apply` then); here only a finished job (exit 0, not
   * `always`) and a failure under `never` are left alone, unless the host rebooted since.
   */
  private converged(c: ContainerInfo, w: WorkloadSpec): boolean {
    const policy = w.restart?.policy ?? 'on-failure';
    switch (c.state) {
      case 'running':
      case 'restarting':
      case 'paused':
        return true;
      case 'exited':
      case 'stopped':
        // Stopped by a host shutdown (it finished before this boot): start it again.
        if (c.finishedAt !== undefined && c.finishedAt < (this.opts.bootTime ?? hostBootTime)()) return false;
        if (c.exitCode === 0) return policy !== 'always';
        return policy === 'never';
      default:
        return false;
    }
  }

  private async ensureImage(art: ImageArtifact, signal?: AbortSignal): Promise<void> {
    const pull = art.pull ?? 'missing';
    if (pull === 'always' || !(await this.opts.engine.imageExists(art.image))) {
      if (pull === 'never') {
        throw new OutpostError(
          RuntimeErrorCode.invalidSpec,
          `image ${art.image} is not present and the pull policy is "never"`,
          {
            status: 400,
          },
        );
      }
      await this.opts.engine.pull(art.image, {
        tlsVerify: art.tlsVerify ?? true,
        ...(art.certDir ? { certDir: art.certDir } : {}),
        signal,
      });
    }
  }

  private createSpec(w: WorkloadSpec, art: ImageArtifact, name: string): ContainerCreateSpec {
    return {
      name,
      image: art.image,
      labels: {
        [Label.managed]: 'true',
        [Label.instance]: this.instance,
        [Label.kind]: 'container',
        [Label.workload]: w.workloadId,
        [Label.deployment]: w.deploymentId,
        [Label.component]: w.component,
        [Label.revision]: w.revision,
        [Label.specHash]: w.specHash,
      },
      env: w.env ?? {},
      args: w.args,
      memoryBytes: w.limits?.memoryBytes,
      cpus: w.limits?.cpus,
      // The engine restarts nothing: the agent does, with backoff, and reports every restart (ADR 0207).
      restart: { name: 'no' },
      network: w.container?.network,
      publish: w.container?.publish,
    };
  }

  async pruneImage(ref: string): Promise<void> {
    if (this.opts.removeImages) await this.opts.engine.removeImage(ref);
  }

  async remove(workloadId: string, opts: RemoveOptions = {}): Promise<void> {
    const engine = this.opts.engine;
    const found = (
      await engine.list({ [Label.instance]: this.instance, [Label.workload]: workloadId })
    ).filter((c) => c.labels[Label.kind] === 'container');
    if (found.length === 0) return;
    opts.onEvent?.({ workloadId, type: 'removing', at: this.clock.now() });
    for (const c of found) {
      await engine.stop(c.id, opts.stopTimeoutSec ?? this.opts.stopTimeoutSec ?? 10);
      await engine.remove(c.id);
      if (this.opts.removeImages && c.image) await engine.removeImage(c.image);
    }
    this.log.info({ workloadId }, 'container workload removed');
    opts.onEvent?.({ workloadId, type: 'removed', at: this.clock.now() });
  }

  async status(workloadId: string): Promise<WorkloadStatus> {
    const c = await this.opts.engine.inspect(this.containerName(workloadId));
    return c && c.labels[Label.instance] === this.instance ? this.toStatus(c) : this.removed(workloadId);
  }

  async list(): Promise<WorkloadStatus[]> {
    const all = await this.opts.engine.list({ [Label.managed]: 'true', [Label.instance]: this.instance });
    return all
      .filter((c) => c.labels[Label.kind] === 'container')
      .map((c) => this.toStatus(c))
      .sort((a, b) => a.workloadId.localeCompare(b.workloadId));
  }

  private removed(workloadId: string): WorkloadStatus {
    return { workloadId, kind: 'container', state: 'removed', since: this.clock.now(), restarts: 0 };
  }

  private toStatus(c: ContainerInfo): WorkloadStatus {
    const base = {
      workloadId: c.labels[Label.workload] ?? c.name,
      kind: 'container' as const,
      specHash: c.labels[Label.specHash],
      restarts: c.restartCount,
      handle: c.id,
      since: c.startedAt ?? this.clock.now(),
    };
    switch (c.state) {
      case 'running':
        return { ...base, state: 'running' };
      case 'paused':
        return { ...base, state: 'running', message: 'paused' };
      case 'restarting':
        return { ...base, state: 'restarting', exitCode: c.exitCode };
      case 'created':
        return { ...base, state: 'pending', message: 'created, not started' };
      case 'exited':
      case 'stopped': {
        const since = c.finishedAt ?? base.since;
        const oom = c.oomKilled ? ' (killed: out of memory)' : '';
        return c.exitCode === 0 && !c.oomKilled
          ? { ...base, since, state: 'exited', exitCode: 0 }
          : {
              ...base,
              since,
              state: 'failed',
              exitCode: c.exitCode,
              message: `exited with code ${c.exitCode}${oom}${c.error ? `: ${c.error}` : ''}`,
            };
      }
      case 'dead':
        return { ...base, state: 'failed', message: c.error ?? 'container is dead' };
      default:
        return { ...base, state: 'unknown' };
    }
  }
}

export function createContainerAdapter(opts: ContainerAdapterOptions): ContainerAdapter {
  return new ContainerAdapter(opts);
}
