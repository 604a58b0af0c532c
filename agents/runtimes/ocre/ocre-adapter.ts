import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Clock } from '../../../lib/base/index.js';
import { OutpostError } from '../../../lib/errors/index.js';
import type { Logger } from '../../../lib/log/index.js';
import type { SmpClient } from '../../../lib/smp/index.js';
import { readJsonFile, writeFileAtomic } from '../fs-util.js';
import { safeName } from '../names.js';
import {
  isImageArtifact,
  RuntimeErrorCode,
  type ApplyOptions,
  type ProbeResult,
  type RemoveOptions,
  type RuntimeAdapter,
  type WorkloadSpec,
  type WorkloadStatus,
} from '../types.js';
import type { McuFleet } from './mcu-fleet.js';
import type { McuLink } from './mcu-link.js';

/** Where Ocre looks for images on the device (`<workdir>/images`, workdir `/lfs/ocre`). */
export const OCRE_IMAGES_DIR = '/lfs/ocre/images';
const WASM_MAGIC = Buffer.from([0x00, 0x61, 0x73, 0x6d]);
const ANSI = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g');

/** What the agent keeps of one workload on an MCU (`<state>/ocre/<safe name>.json`). */
interface OcreRecord {
  workloadId: string;
  /** The MCU's name (the last part of the child device id `<host>/<mcu>`). */
  mcu: string;
  deviceId: string;
  containerId: string;
  /** The image file's name under /lfs/ocre/images (content-addressed). */
  image: string;
  sha256: string;
  specHash: string;
  /** Where the container was when last seen healthy: `created` after create, `started` after start. */
  phase: 'uploading' | 'created' | 'started';
  /** The `ocre container create` command, to make the container again after a device reset. */
  create?: string[];
  since: number;
}

/** One row of `ocre container ps`. */
export interface OcrePsRow {
  id: string;
  status: string;
  image: string;
}

/** Parses `ocre container ps` output (`ID\tSTATUS\tIMAGE`, status names padded to 7). */
export function parseOcrePs(text: string): OcrePsRow[] {
  const rows: OcrePsRow[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const parts = raw.split('\t');
    if (parts.length < 3 || parts[0] === 'ID') continue;
    rows.push({ id: parts[0]!.trim(), status: parts[1]!.trim(), image: parts.slice(2).join('\t').trim() });
  }
  return rows;
}

/** An Ocre container id for a workload: `[a-z0-9_.-]`, readable, unique by a hash of the id. */
export function ocreContainerId(workloadId: string): string {
  const hash = createHash('sha256').update(workloadId).digest('hex').slice(0, 8);
  const component = workloadId.slice(workloadId.lastIndexOf('.') + 1);
  const base = component
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '-')
    .replace(/^[-_]+/, '')
    .slice(0, 24);
  return `${base || 'w'}-${hash}`;
}

/** Zephyr's shell command buffer (CONFIG_SHELL_CMD_BUFF_SIZE): the whole rejoined line must fit. */
export const SHELL_LINE_MAX = 255;

/**
 * One argument as the device's shell must see it: the shell group joins `argv` with spaces and the
 * shell splits the line again (quotes group words), so a word with spaces or quotes is quoted.
 */
export function shellWord(arg: string): string {
  if (arg !== '' && !/[\s"']/.test(arg)) return arg;
  if (!arg.includes('"')) return `"${arg}"`;
  if (!arg.includes("'")) return `'${arg}'`;
  throw new OutpostError(
    RuntimeErrorCode.invalidSpec,
    `${JSON.stringify(arg)} has both kinds of quotes: the device's shell cannot take it as one argument`,
  );
}

/** The `ocre container create` command for a workload, checked against the shell's line size. */
export function createCommand(spec: WorkloadSpec, id: string, image: string): string[] {
  const argv = ['ocre', 'container', 'create', '-d', '-n', id, '-k', 'ocre:api'];
  for (const [k, v] of Object.entries(spec.env)) argv.push('-e', shellWord(`${k}=${v}`));
  argv.push(image, ...(spec.args ?? []).map(shellWord));
  const length = argv.join(' ').length;
  if (length > SHELL_LINE_MAX)
    throw new OutpostError(
      RuntimeErrorCode.invalidSpec,
      `the create command for ${spec.workloadId} is ${length} characters; the device's shell takes at most ${SHELL_LINE_MAX} (fewer or shorter parameters)`,
    );
  return argv;
}

/** The device's own words: the command's output and the `<err>` log lines it printed, one line. */
export function deviceWords(r: { output: string; console: string[] }): string {
  const lines = [
    ...r.output.split(/\r?\n/),
    ...r.console.map((l) => l.replace(/^\[[0-9:.,]+\]\s*/, '').replace(ANSI, '')),
  ]
    .map((l) => l.trim())
    .filter((l) => l !== '' && !/^(uart|ocre):~\$/.test(l));
  return [...new Set(lines)].join('; ');
}

export interface OcreAdapterOptions {
  stateDir: string;
  fleet: McuFleet;
  clock: Clock;
  logger: Logger;
}

/**
 * Runs WASM modules as Ocre containers on microcontrollers (ADR 0441): the module is uploaded over SMP
 * (fs group) into `/lfs/ocre/images/<sha256 prefix>.wasm` and checked with the device's SHA-256, then
 * `ocre container create -d -n ID ... IMAGE` and `ocre container start ID` run through the shell group.
 * The device keeps its container list in RAM, so a container that is gone after a reset or a power cycle
 * is reported `failed` and `lost`: the agent makes it again. While an MCU cannot be reached, its workloads
 * are `unknown`, never running.
 */
export class OcreAdapter implements RuntimeAdapter {
  readonly kind = 'ocre';
  private readonly log: Logger;
  /** One operation at a time per MCU: its shell and fs contexts are single. */
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(private readonly o: OcreAdapterOptions) {
    this.log = o.logger.child({ component: 'ocre' });
    // A reset (or a power cycle) empties the device's container list: make its containers again at once,
    // before anyone asks for their state (commands on one MCU run in order).
    o.fleet.on((e) => {
      if (e.type === 'reset') void this.rebuild(e.mcu).catch(() => undefined);
    });
  }

  /**
   * Makes the containers of an MCU again after a reset, from the commands that made them (the images
   * stay in flash). What cannot be made again stays missing: its status says `lost`, the agent applies
   * it anew.
   */
  rebuild(mcu: string): Promise<string[]> {
    const link = this.o.fleet.get(mcu);
    if (!link) return Promise.resolve([]);
    return this.serial(mcu, async () => {
      const made: string[] = [];
      for (const rec of this.records()) {
        if (rec.mcu !== mcu || rec.phase !== 'started' || !rec.create) continue;
        try {
          const smp = link.client();
          if (await this.ps(link, smp, rec.containerId)) continue;
          const c = await this.exec(link, smp, rec.create);
          const s =
            c.ret === 0 ? await this.exec(link, smp, ['ocre', 'container', 'start', rec.containerId]) : c;
          if (s.ret !== 0) {
            this.log.warn(
              { mcu, workloadId: rec.workloadId, words: deviceWords(s) },
              'container not made again',
            );
            continue;
          }
          made.push(rec.workloadId);
        } catch (e) {
          this.log.warn(
            { mcu, workloadId: rec.workloadId, err: (e as Error).message },
            'container not made again',
          );
        }
      }
      if (made.length) this.log.info({ mcu, workloads: made }, 'containers made again after the reset');
      return made;
    });
  }

  get fleet(): McuFleet {
    return this.o.fleet;
  }

  async probe(): Promise<ProbeResult> {
    const mcus = this.o.fleet.list();
    const up = mcus.filter((m) => m.connected).length;
    return {
      available: true,
      version: 'smp',
      detail: `${mcus.length} microcontroller${mcus.length === 1 ? '' : 's'}, ${up} connected`,
    };
  }

  private file(workloadId: string): string {
    return path.join(this.o.stateDir, `${safeName(workloadId)}.json`);
  }

  private record(workloadId: string): OcreRecord | undefined {
    return readJsonFile<OcreRecord>(this.file(workloadId));
  }

  private save(r: OcreRecord): void {
    writeFileAtomic(this.file(r.workloadId), JSON.stringify(r, null, 2) + '\n', 0o600);
  }

  private records(): OcreRecord[] {
    let names: string[];
    try {
      names = fs.readdirSync(this.o.stateDir).filter((n) => n.endsWith('.json'));
    } catch {
      return [];
    }
    return names
      .map((n) => readJsonFile<OcreRecord>(path.join(this.o.stateDir, n)))
      .filter((r): r is OcreRecord => r !== undefined && typeof r.workloadId === 'string');
  }

  private serial<T>(mcu: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.queues.get(mcu) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    this.queues.set(
      mcu,
      run.catch(() => undefined),
    );
    return run;
  }

  /** The MCU a workload runs on, from its spec's child device id `<host>/<mcu>`. */
  private linkFor(spec: WorkloadSpec): McuLink {
    if (!spec.device || !spec.device.includes('/'))
      throw new OutpostError(
        RuntimeErrorCode.invalidSpec,
        'ocre workloads run on a microcontroller: the deployment must target a child device <host>/<mcu>, not the host',
      );
    const name = spec.device.slice(spec.device.lastIndexOf('/') + 1);
    const link = this.o.fleet.get(name);
    if (!link)
      throw new OutpostError(
        '101',
        `this host has no microcontroller "${name}" (agent.yaml mcus, or a known board on USB)`,
      );
    return link;
  }

  private async exec(link: McuLink, smp: SmpClient, argv: string[], signal?: AbortSignal) {
    const r = await smp.shell.exec(argv, signal ? { signal } : {});
    link.seen();
    return r;
  }

  private async ps(link: McuLink, smp: SmpClient, id: string): Promise<OcrePsRow | undefined> {
    const r = await this.exec(link, smp, ['ocre', 'container', 'ps', id]);
    if (r.ret !== 0) return undefined;
    return parseOcrePs(r.output + '\n' + r.console.join('\n')).find((row) => row.id === id);
  }

  async apply(spec: WorkloadSpec, opts: ApplyOptions = {}): Promise<WorkloadStatus> {
    const link = this.linkFor(spec);
    if (isImageArtifact(spec.artifact))
      throw new OutpostError(
        RuntimeErrorCode.invalidSpec,
        'an ocre workload is a WASM module file, not an image',
      );
    const data = fs.readFileSync(spec.artifact.path);
    const sha = createHash('sha256').update(data).digest('hex');
    if (`sha256:${sha}` !== spec.artifact.digest)
      throw new OutpostError(
        RuntimeErrorCode.digestMismatch,
        `${spec.artifact.path} has digest sha256:${sha}, expected ${spec.artifact.digest}`,
      );
    if (data.length < 8 || !data.subarray(0, 4).equals(WASM_MAGIC))
      throw new OutpostError(
        RuntimeErrorCode.invalidSpec,
        `the artifact of ${spec.workloadId} is not a WASM module`,
      );
    return this.serial(link.name, () => this.applyOn(link, spec, data, sha, opts));
  }

  private async applyOn(
    link: McuLink,
    spec: WorkloadSpec,
    data: Buffer,
    sha: string,
    opts: ApplyOptions,
  ): Promise<WorkloadStatus> {
    const smp = link.client();
    const event = (type: Parameters<NonNullable<ApplyOptions['onEvent']>>[0]['type'], message?: string) =>
      opts.onEvent?.({
        workloadId: spec.workloadId,
        type,
        at: this.o.clock.now(),
        ...(message ? { message } : {}),
      });
    const id = ocreContainerId(spec.workloadId);
    const prev = this.record(spec.workloadId);
    if (!opts.force && prev?.specHash === spec.specHash && prev.mcu === link.name) {
      const row = await this.ps(link, smp, id);
      if (row?.status === 'RUNNING') {
        event('unchanged');
        return this.statusOf(prev, row);
      }
    }
    if (prev && prev.mcu !== link.name) await this.leave(prev);
    event(prev ? 'replacing' : 'installing');
    const image = `${sha.slice(0, 16)}.wasm`;
    const rec: OcreRecord = {
      workloadId: spec.workloadId,
      mcu: link.name,
      deviceId: spec.device!,
      containerId: id,
      image,
      sha256: sha,
      specHash: spec.specHash,
      phase: 'uploading',
      since: this.o.clock.now(),
    };
    // The new version is on the device and checked before the old one is touched.
    const up = await smp.fs.upload(`${OCRE_IMAGES_DIR}/${image}`, data, {
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    link.seen();
    this.log.info(
      { mcu: link.name, image, bytes: data.length, upToDate: up.upToDate, verified: up.verified },
      'module on the microcontroller',
    );
    await this.removeContainer(link, smp, id);
    this.save(rec);
    const argv = createCommand(spec, id, image);
    rec.create = argv;
    const created = await this.exec(link, smp, argv, opts.signal);
    if (created.ret !== 0) throw this.refused(link, 'create', created);
    this.save(((rec.phase = 'created'), rec));
    const started = await this.exec(link, smp, ['ocre', 'container', 'start', id], opts.signal);
    if (started.ret !== 0) throw this.refused(link, 'start', started);
    rec.phase = 'started';
    rec.since = this.o.clock.now();
    this.save(rec);
    if (prev && prev.image !== image) await this.dropImage(link, smp, prev.image, spec.workloadId);
    event('started');
    const row = await this.ps(link, smp, id);
    return this.statusOf(rec, row);
  }

  private refused(
    link: McuLink,
    what: string,
    r: { ret: number; output: string; console: string[] },
  ): OutpostError {
    const words = deviceWords(r);
    return new OutpostError(
      RuntimeErrorCode.startFailed,
      `${link.name}: ocre container ${what} failed (${r.ret})${words ? `: ${words}` : ''}`,
      { data: { mcu: link.name, ret: r.ret } },
    );
  }

  /** Kills (if running), waits (EXITED becomes STOPPED) and removes a container; a missing one is fine. */
  private async removeContainer(link: McuLink, smp: SmpClient, id: string): Promise<void> {
    const row = await this.ps(link, smp, id);
    if (!row) return;
    if (row.status === 'RUNNING') await this.exec(link, smp, ['ocre', 'container', 'kill', id]);
    if (row.status === 'RUNNING' || row.status === 'EXITED')
      await this.exec(link, smp, ['ocre', 'container', 'wait', id]);
    const r = await this.exec(link, smp, ['ocre', 'container', 'rm', id]);
    if (r.ret !== 0) throw this.refused(link, 'rm', r);
  }

  /** The workload moved to another MCU of this host: removed from the old one when it can be reached. */
  private async leave(prev: OcreRecord): Promise<void> {
    const old = this.o.fleet.get(prev.mcu);
    if (!old) return;
    await this.serial(old.name, async () => {
      const smp = old.client();
      await this.removeContainer(old, smp, prev.containerId);
      await this.dropImage(old, smp, prev.image, prev.workloadId);
    }).catch((e: unknown) =>
      this.log.warn(
        { mcu: prev.mcu, err: (e as Error).message },
        'the workload moved; its old container stays on the unreachable MCU',
      ),
    );
  }

  /** Removes an image file no other workload of this MCU uses. */
  private async dropImage(link: McuLink, smp: SmpClient, image: string, except: string): Promise<void> {
    if (this.records().some((r) => r.mcu === link.name && r.image === image && r.workloadId !== except))
      return;
    const r = await this.exec(link, smp, ['ocre', 'image', 'rm', image]).catch(() => undefined);
    if (r && r.ret !== 0)
      this.log.warn({ mcu: link.name, image, words: deviceWords(r) }, 'old image not removed');
  }

  async remove(workloadId: string, opts: RemoveOptions = {}): Promise<void> {
    const rec = this.record(workloadId);
    if (!rec) return;
    const link = this.o.fleet.get(rec.mcu);
    if (link) {
      opts.onEvent?.({ workloadId, type: 'removing', at: this.o.clock.now() });
      await this.serial(link.name, async () => {
        const smp = link.client();
        await this.removeContainer(link, smp, rec.containerId);
        await this.dropImage(link, smp, rec.image, workloadId);
      });
    }
    fs.rmSync(this.file(workloadId), { force: true });
    opts.onEvent?.({ workloadId, type: 'removed', at: this.o.clock.now() });
  }

  async status(workloadId: string): Promise<WorkloadStatus> {
    const rec = this.record(workloadId);
    if (!rec)
      return { workloadId, kind: this.kind, state: 'removed', since: this.o.clock.now(), restarts: 0 };
    return this.statusFor(rec);
  }

  private async statusFor(rec: OcreRecord): Promise<WorkloadStatus> {
    const link = this.o.fleet.get(rec.mcu);
    const base = { workloadId: rec.workloadId, kind: this.kind, specHash: rec.specHash, restarts: 0 };
    if (!link)
      return {
        ...base,
        state: 'unknown',
        since: rec.since,
        message: `no microcontroller "${rec.mcu}" any more`,
      };
    const st = link.state();
    if (!st.connected)
      return {
        ...base,
        state: 'unknown',
        since: st.since,
        message: `microcontroller ${rec.mcu} is unreachable: ${st.lastError ?? 'not connected'}`,
      };
    try {
      const row = await this.serial(link.name, () => this.ps(link, link.client(), rec.containerId));
      return this.statusOf(rec, row);
    } catch (e) {
      return { ...base, state: 'unknown', since: this.o.clock.now(), message: (e as Error).message };
    }
  }

  private statusOf(rec: OcreRecord, row: OcrePsRow | undefined): WorkloadStatus {
    const base = {
      workloadId: rec.workloadId,
      kind: this.kind,
      specHash: rec.specHash,
      restarts: 0,
      handle: `${rec.mcu}:${rec.containerId}`,
    };
    if (!row) {
      if (rec.phase === 'uploading' || rec.phase === 'created')
        return { ...base, state: 'failed', since: rec.since, message: 'the container was not started' };
      return {
        ...base,
        state: 'failed',
        lost: true,
        since: this.o.clock.now(),
        message: `the container is gone from ${rec.mcu} (the device was reset or lost power)`,
      };
    }
    switch (row.status) {
      case 'RUNNING':
        return { ...base, state: 'running', since: rec.since };
      case 'CREATED':
        return { ...base, state: 'pending', since: rec.since };
      case 'EXITED':
      case 'STOPPED':
        return { ...base, state: 'exited', since: this.o.clock.now() };
      case 'ERROR':
        return {
          ...base,
          state: 'failed',
          since: this.o.clock.now(),
          message: `the container is in state ERROR on ${rec.mcu}`,
        };
      default:
        return { ...base, state: 'unknown', since: this.o.clock.now(), message: `state ${row.status}` };
    }
  }

  async list(): Promise<WorkloadStatus[]> {
    return Promise.all(this.records().map((r) => this.statusFor(r)));
  }

  /** Workloads recorded on an MCU (the agent reconciles their deployments after a reset). */
  workloadsOn(mcu: string): string[] {
    return this.records()
      .filter((r) => r.mcu === mcu)
      .map((r) => r.workloadId);
  }
}
