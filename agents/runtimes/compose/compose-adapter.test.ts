// Integration tests of the compose adapter with real podman-compose (Debian 1.0.3) and podman, using a
// busybox-static image built once for the file and compose archives written by the test.
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import tar from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../lib/log/index.js';
import { buildBusyboxImage, createPodmanEnv, type PodmanTestEnv } from '../../../test/helpers/podman.js';
import { PodmanCliEngine } from '../container/podman-cli-engine.js';
import { computeSpecHash, Label } from '../names.js';
import type { FileArtifact, WorkloadSpec } from '../types.js';
import { ComposeAdapter, PROJECT_LABEL } from './compose-adapter.js';
import { composeArgs, podmanCompose } from './compose-tool.js';
import { mergeDotenv, renderDotenv } from './dotenv.js';
import { waitFor } from '../../../test/helpers/wait.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
let pe: PodmanTestEnv;
let image: string;
let instance: string;
const projects = new Set<string>();

beforeAll(async () => {
  pe = createPodmanEnv('outpost-compose-');
  image = await buildBusyboxImage(pe);
  instance = `test-${path.basename(pe.dir)}`;
});

afterAll(async () => {
  // Whatever a failed test left: containers, networks and volumes of every project this file used.
  for (const p of projects) {
    const ids = (await pe.podman(['ps', '-aq', '--filter', `label=${PROJECT_LABEL}=${p}`])).stdout
      .split('\n')
      .filter(Boolean);
    if (ids.length) await pe.podman(['rm', '-f', '-t', '0', ...ids]);
    for (const kind of ['network', 'volume'] as const) {
      const names = (await pe.podman([kind, 'ls', '-q', '--filter', `label=${PROJECT_LABEL}=${p}`])).stdout
        .split('\n')
        .filter(Boolean);
      for (const n of names) await pe.podman([kind, 'rm', '-f', n]);
    }
  }
  await pe.cleanup();
});

function adapter(stateDir = path.join(pe.dir, 'state')): ComposeAdapter {
  return new ComposeAdapter({
    stateDir,
    engine: new PodmanCliEngine({ env: pe.env }),
    tool: podmanCompose(),
    env: pe.env,
    logger: silentLogger(),
    instance,
    stopTimeoutSec: 2,
  });
}

let n = 0;
/** A Margo compose archive (one top folder with compose.yaml) as the agent would have pulled it. */
async function composeArchive(files: Record<string, string>, top = 'demo'): Promise<FileArtifact> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c: unknown) => {
    chunks.push(c as Buffer);
  });
  const ended = new Promise<void>((resolve) => pack.on('end', () => resolve()));
  for (const [name, body] of Object.entries(files)) {
    await new Promise<void>((resolve, reject) =>
      pack.entry({ name: `${top}/${name}`, mode: 0o644 }, body, (e) => (e ? reject(e) : resolve())),
    );
  }
  pack.finalize();
  await ended;
  const gz = zlib.gzipSync(Buffer.concat(chunks));
  const file = path.join(pe.dir, `app-${++n}.tar.gz`);
  fs.writeFileSync(file, gz);
  return {
    path: file,
    mediaType: 'application/vnd.org.margo.component.compose.tar+gzip',
    digest: `sha256:${createHash('sha256').update(gz).digest('hex')}`,
  };
}

/** One service that prints its parameters, records its version in a named volume, and stops on SIGTERM. */
function composeYaml(version: string, extra = ''): string {
  return `services:
  web:
    image: ${image}
    command:
      - /bin/sh
      - -c
      - >-
        echo "greeting=$\${GREETING} color=$\${COLOR}";
        echo "seen: $$(ls /data | tr '\\n' ' ')";
        touch /data/${version};
        trap 'exit 0' TERM; while :; do sleep 1 & wait $$!; done
    environment:
      GREETING: \${GREETING:-unset}
      COLOR: \${COLOR:-unset}
    volumes:
      - data:/data
${extra}volumes:
  data: {}
`;
}

let seq = 0;
// Unique to this run: podman's storage is shared by every test run on the machine, and names derive from ids.
const RUN = randomBytes(2).toString('hex');
async function spec(files: Record<string, string>, over: Partial<WorkloadSpec> = {}): Promise<WorkloadSpec> {
  const base: Omit<WorkloadSpec, 'specHash'> = {
    workloadId: `7e1f0c44-${RUN}-4000-8000-${String(++seq).padStart(12, '0')}.app`,
    deploymentId: `7e1f0c44-${RUN}-4000-8000-000000000000`,
    component: 'app',
    revision: '1.0.0',
    artifact: await composeArchive(files),
    env: { GREETING: "it's me", COLOR: 'blue' },
    ...over,
  };
  const w = { ...base, specHash: computeSpecHash(base) };
  projects.add(adapter().projectName(w.workloadId));
  return w;
}

async function leftovers(
  project: string,
): Promise<{ containers: string[]; networks: string[]; volumes: string[] }> {
  const q = async (args: string[]) => (await pe.podmanOk(args)).split('\n').filter(Boolean);
  return {
    containers: await q(['ps', '-aq', '--filter', `label=${PROJECT_LABEL}=${project}`]),
    networks: await q(['network', 'ls', '-q', '--filter', `label=${PROJECT_LABEL}=${project}`]),
    volumes: await q(['volume', 'ls', '-q', '--filter', `label=${PROJECT_LABEL}=${project}`]),
  };
}

/** Running (a zombie waiting for its reaper counts as gone). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

describe('compose helpers', () => {
  it('builds the compose command lines', () => {
    const inv = { project: 'outpost-x-1234abcd', files: ['compose.yaml', '.outpost-override.yaml'] };
    expect(composeArgs(inv, 'up', { tool: 'podman-compose' })).toEqual([
      '-p',
      'outpost-x-1234abcd',
      '-f',
      'compose.yaml',
      '-f',
      '.outpost-override.yaml',
      'up',
      '-d',
    ]);
    expect(composeArgs(inv, 'down', { tool: 'podman-compose', timeoutSec: 5 }).slice(-3)).toEqual([
      'down',
      '-t',
      '5',
    ]);
    expect(
      composeArgs(inv, 'down', { tool: 'docker-compose', timeoutSec: 5, volumes: true }).slice(-5),
    ).toEqual(['down', '-v', '-t', '5', '--remove-orphans']);
  });

  it('writes .env values literally and leaves out what cannot be quoted', () => {
    expect(renderDotenv({ B: 'x $HOME ${Y}', A: "it's", C: 'two\nlines' })).toEqual({
      text:
        '# --- outpost parameters (generated; later lines win) ---\n' +
        '# A: passed through the process environment (its value cannot be quoted here)\n' +
        "B='x $HOME ${Y}'\n" +
        '# C: passed through the process environment (its value cannot be quoted here)\n',
      omitted: ['A', 'C'],
    });
    expect(mergeDotenv('X=1', { X: '2' }).text).toBe(
      "X=1\n# --- outpost parameters (generated; later lines win) ---\nX='2'\n",
    );
  });
});

describe('ComposeAdapter (podman-compose)', () => {
  it('probes podman-compose', async () => {
    expect(await adapter().probe()).toMatchObject({ available: true, version: '1.0.3' });
  });

  it('runs a compose app with the parameters, survives an agent restart, updates keeping data, and removes everything', async () => {
    const w = await spec({ 'compose.yaml': composeYaml('v1') });
    const project = adapter().projectName(w.workloadId);
    const events: string[] = [];
    const s1 = await adapter().apply(w, { onEvent: (e) => events.push(e.type) });
    expect(events).toEqual(['installing', 'started']);
    expect(s1).toMatchObject({ state: 'running', specHash: w.specHash, handle: project, kind: 'compose' });
    const [id1] = (await leftovers(project)).containers;
    const labels = JSON.parse(await pe.podmanOk(['inspect', id1!]))[0].Config.Labels;
    expect(labels).toMatchObject({
      [Label.workload]: w.workloadId,
      [Label.specHash]: w.specHash,
      [Label.instance]: instance,
    });
    // One parameter came through .env, the other (with a quote) through the process environment.
    const logs1 = await waitFor(
      async () => {
        const l = await pe.podmanOk(['logs', id1!]);
        return l.includes('greeting=') ? l : undefined;
      },
      { what: 'the greeting', timeoutMs: 15_000, intervalMs: 100 },
    );
    expect(logs1).toContain("greeting=it's me color=blue");

    // Agent restart: a new adapter lists the app and leaves it running.
    const again = adapter();
    expect(await again.list()).toEqual([
      expect.objectContaining({ workloadId: w.workloadId, state: 'running' }),
    ]);
    const startedAt = JSON.parse(await pe.podmanOk(['inspect', id1!]))[0].State.StartedAt;
    const events2: string[] = [];
    await again.apply(w, { onEvent: (e) => events2.push(e.type) });
    expect(events2).toEqual(['unchanged']);
    expect((await leftovers(project)).containers).toEqual([id1]);
    expect(JSON.parse(await pe.podmanOk(['inspect', id1!]))[0].State.StartedAt).toBe(startedAt);

    // A new revision replaces the container but keeps the named volume.
    const w2 = await spec(
      { 'compose.yaml': composeYaml('v2') },
      { workloadId: w.workloadId, revision: '1.1.0' },
    );
    const s2 = await again.apply(w2, { onEvent: (e) => events2.push(e.type) });
    expect(events2).toEqual(['unchanged', 'replacing', 'started']);
    expect(s2).toMatchObject({ state: 'running', specHash: w2.specHash });
    const [id2] = (await leftovers(project)).containers;
    expect(id2).not.toBe(id1);
    expect((await leftovers(project)).containers).toHaveLength(1);
    const logs2 = await waitFor(
      async () => {
        const l = await pe.podmanOk(['logs', id2!]);
        return l.includes('seen:') ? l : undefined;
      },
      { what: 'v2 output', timeoutMs: 15_000, intervalMs: 100 },
    );
    expect(logs2).toContain('seen: v1');

    // Removal leaves no container, network, volume or file behind.
    const removed: string[] = [];
    await again.remove(w.workloadId, { onEvent: (e) => removed.push(e.type) });
    expect(removed).toEqual(['removing', 'removed']);
    expect(await leftovers(project)).toEqual({ containers: [], networks: [], volumes: [] });
    expect(await again.list()).toEqual([]);
    expect(await again.status(w.workloadId)).toMatchObject({ state: 'removed' });
    expect(fs.readdirSync(path.join(pe.dir, 'state'))).toEqual([]);
  });

  it('reports a service that exits with an error as failed', async () => {
    const yaml = `services:\n  job:\n    image: ${image}\n    command: ["/bin/sh", "-c", "echo failing; exit 4"]\n    restart: "no"\n`;
    const w = await spec({ 'compose.yaml': yaml });
    const a = adapter();
    await a.apply(w);
    const s = await waitFor(
      async () => {
        const st = await a.status(w.workloadId);
        return st.state === 'failed' ? st : undefined;
      },
      { what: 'the failure', timeoutMs: 15_000, intervalMs: 100 },
    );
    expect(s.message).toContain('service job exited with code 4');
    await a.remove(w.workloadId);
    expect(await leftovers(a.projectName(w.workloadId))).toEqual({
      containers: [],
      networks: [],
      volumes: [],
    });
  });

  it('rejects an unsafe archive with a clear error and leaves the running version alone', async () => {
    const a = adapter();
    const w = await spec({ 'compose.yaml': composeYaml('v1') });
    const s1 = await a.apply(w);
    expect(s1.state).toBe('running');
    const [id] = (await leftovers(a.projectName(w.workloadId))).containers;
    const evil = await spec(
      { 'compose.yaml': composeYaml('v2'), '../escape': 'x' },
      { workloadId: w.workloadId },
    );
    await expect(a.apply(evil)).rejects.toMatchObject({
      code: 'runtime/unsafe-archive',
      message: expect.stringContaining('contains ".."'),
    });
    const badYaml = await spec({ 'compose.yaml': 'services: [' }, { workloadId: w.workloadId });
    await expect(a.apply(badYaml)).rejects.toMatchObject({ code: 'runtime/invalid-spec' });
    expect((await leftovers(a.projectName(w.workloadId))).containers).toEqual([id]);
    expect(await a.status(w.workloadId)).toMatchObject({ state: 'running', specHash: w.specHash });
    await a.remove(w.workloadId);
  });

  it('converges without duplicates after the agent is SIGKILLed during podman-compose up', async () => {
    const driver = path.join(pe.dir, 'agent-driver.mjs');
    await build({
      stdin: {
        contents: `
          import { ComposeAdapter } from ${JSON.stringify(path.join(root, 'agents/runtimes/compose/compose-adapter.ts'))};
          import { podmanCompose } from ${JSON.stringify(path.join(root, 'agents/runtimes/compose/compose-tool.ts'))};
          import { PodmanCliEngine } from ${JSON.stringify(path.join(root, 'agents/runtimes/container/podman-cli-engine.ts'))};
          const [stateDir, instance, specJson] = process.argv.slice(2);
          const quiet = { child: () => quiet, info() {}, warn() {}, error() {}, debug() {} };
          const a = new ComposeAdapter({ stateDir, instance, engine: new PodmanCliEngine(), tool: podmanCompose(), logger: quiet });
          await a.apply(JSON.parse(specJson), { onEvent: (e) => process.stdout.write(e.type + '\\n') });
          process.stdout.write('done\\n');
        `,
        resolveDir: root,
        loader: 'ts',
      },
      outfile: driver,
      bundle: true,
      platform: 'node',
      format: 'esm',
      // Bundled CommonJS dependencies (yaml) call require(): give the ESM bundle one.
      banner: {
        js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
      },
      logLevel: 'warning',
    });
    const twoServices = composeYaml(
      'v1',
      `  side:\n    image: ${image}\n    command: ["/bin/sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1 & wait $$!; done"]\n`,
    );
    const stateDir = path.join(pe.dir, 'crash-state');
    const w = await spec({ 'compose.yaml': twoServices });
    const child = spawn(process.execPath, [driver, stateDir, instance, JSON.stringify(w)], {
      env: pe.env,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
    // Killed while podman-compose runs, however fast the machine: as soon as the agent has recorded the
    // tool's pid (it waits for the tool to finish before it says anything more).
    const recordedTool = () => {
      for (const d of fs.existsSync(stateDir) ? fs.readdirSync(stateDir) : []) {
        try {
          const st = JSON.parse(fs.readFileSync(path.join(stateDir, d, 'state.json'), 'utf8')) as {
            toolPid?: number;
          };
          if (st.toolPid) return st.toolPid;
        } catch {
          // not written yet
        }
      }
      return undefined;
    };
    const toolPid = await waitFor(async () => (child.exitCode === null ? recordedTool() : -1), {
      what: 'the agent to start podman-compose',
      timeoutMs: 15_000,
      intervalMs: 100,
    });
    expect(toolPid, 'the agent exited before starting the tool').toBeGreaterThan(0);
    child.kill('SIGKILL');
    await exited;
    expect(out).not.toContain('done');
    // The agent died while podman-compose was running (recorded as installing, with the tool's pid).
    const [wdir] = fs.readdirSync(stateDir);
    const left = JSON.parse(fs.readFileSync(path.join(stateDir, wdir!, 'state.json'), 'utf8')) as {
      phase: string;
      toolPid?: number;
    };
    expect(left.phase).toBe('installing');
    expect(left, JSON.stringify(left)).toMatchObject({ toolPid: expect.any(Number) });
    const a = adapter(stateDir);
    const s = await a.apply(w);
    expect(s).toMatchObject({ state: 'running', specHash: w.specHash });
    // Nothing the dead agent's tool was doing may still add a container afterwards: once that tool has
    // exited (or was stopped by the adapter), count.
    await waitFor(async () => !alive(toolPid), {
      what: "the dead agent's podman-compose to be gone",
      timeoutMs: 60_000,
      intervalMs: 100,
    });
    const project = a.projectName(w.workloadId);
    const cs = JSON.parse(
      await pe.podmanOk(['ps', '-a', '--format', 'json', '--filter', `label=${PROJECT_LABEL}=${project}`]),
    ) as {
      Labels: Record<string, string>;
      State: string;
    }[];
    expect(cs.map((c) => c.Labels['com.docker.compose.service']).sort()).toEqual(['side', 'web']);
    expect(cs.every((c) => c.State === 'running')).toBe(true);
    await a.remove(w.workloadId);
    expect(await leftovers(project)).toEqual({ containers: [], networks: [], volumes: [] });
  });
});
