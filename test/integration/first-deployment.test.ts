import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { contract, createClient, createHttpTransport } from '../../lib/contract/index.js';
import { edgectl } from '../helpers/cli.js';
import { wasmRunnerPids } from '../fixtures/agent/harness.js';
import { waitFor } from '../helpers/wait.js';

/**
 * The README's first deployment (issue 12), run as a reader would: the lines of the fenced block under
 * "## A first deployment", verbatim, in one bash script from the repository folder (so `npx edgectl` is the
 * project's own). Only the first line, which chooses the two folders, is replaced by this test's folders;
 * the server's folder holds a config.yaml choosing free ports, so the test can run beside anything else.
 * The last line (`agent logs --follow`) runs until the greeting shows, then gets Ctrl-C as a reader would
 * press it. Then: the deployment is installed on the node, and the server and the agent are stopped.
 */
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** The lines of the README's walkthrough block. */
function walkthrough(): string[] {
  const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
  const section = readme.indexOf('\n## A first deployment\n');
  expect(section, 'README.md has the section "## A first deployment"').toBeGreaterThan(0);
  const open = readme.indexOf('\n```sh\n', section);
  const close = readme.indexOf('\n```\n', open + 1);
  expect(open).toBeGreaterThan(section);
  return readme
    .slice(open + '\n```sh\n'.length, close)
    .split('\n')
    .filter((l) => l.trim() !== '');
}

const HOMES_LINE = 'export EDGE_HOME="$HOME/outpost-demo/server" EDGE_AGENT_HOME="$HOME/outpost-demo/agent"';

describe("the README's first deployment", () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-first-'));
  const serverHome = path.join(work, 'server');
  const agentHome = path.join(work, 'agent');
  let bash: ReturnType<typeof spawn> | undefined;

  afterAll(async () => {
    if (bash?.pid && bash.exitCode === null) process.kill(-bash.pid, 'SIGKILL');
    // The agent and the server, stopped as a reader would (kill %2 %1), by the pids they publish.
    const st = await edgectl(['agent', 'status', '-o', 'json', '--home', agentHome]);
    const agentPid =
      st.code === 0 ? (JSON.parse(st.stdout) as { agent: { pid?: number } }).agent.pid : undefined;
    let serverPid: number | undefined;
    try {
      serverPid = (
        JSON.parse(fs.readFileSync(path.join(serverHome, 'run', 'server.json'), 'utf8')) as { pid: number }
      ).pid;
    } catch {
      serverPid = undefined;
    }
    for (const pid of [agentPid, serverPid]) {
      if (!pid) continue;
      try {
        process.kill(pid, 'SIGTERM');
        await waitFor(() => !alive(pid), { what: `pid ${pid} to stop`, intervalMs: 100 });
      } catch {
        if (alive(pid)) process.kill(pid, 'SIGKILL');
      }
    }
    for (const pid of wasmRunnerPids(agentHome)) process.kill(pid, 'SIGKILL');
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('runs verbatim: the sample is installed on the new node and agent logs shows its greeting', async () => {
    const lines = walkthrough();
    expect(lines[0], 'the first line chooses the folders (the only line this test replaces)').toBe(
      HOMES_LINE,
    );
    expect(lines.at(-1)).toBe('npx edgectl agent logs hello-wasm --follow');
    fs.mkdirSync(serverHome, { recursive: true });
    fs.writeFileSync(
      path.join(serverHome, 'config.yaml'),
      stringify({
        server: { port: 0 },
        mmi: { port: 0 },
        nats: { port: 0, leafPort: 0 },
        registry: { port: 0, loopbackPort: 0 },
      }),
    );
    const script = [
      'set -e',
      `export EDGE_HOME=${JSON.stringify(serverHome)} EDGE_AGENT_HOME=${JSON.stringify(agentHome)}`,
      ...lines.slice(1),
    ].join('\n');
    const env: NodeJS.ProcessEnv = { ...process.env };
    for (const k of Object.keys(env)) if (k.startsWith('EDGE_')) delete env[k];
    bash = spawn('bash', ['-c', script], {
      cwd: root,
      env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    bash.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    bash.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    // 'exit', not 'close': the server and the agent it started in the background keep its output open.
    const exited = new Promise<number | null>((resolve) => bash!.on('exit', (code) => resolve(code)));

    await waitFor(() => bash!.exitCode !== null || out.includes('Hello from the edge\n'), {
      what: 'the greeting from agent logs --follow',
      timeoutMs: 240_000,
      intervalMs: 100,
    });
    if (bash.exitCode !== null)
      throw new Error(
        `the walkthrough stopped (exit ${bash.exitCode})\n--- stdout\n${out}\n--- stderr\n${err}`,
      );

    // The deployment is installed on press-01, as the server sees it.
    const info = JSON.parse(fs.readFileSync(path.join(serverHome, 'run', 'server.json'), 'utf8')) as {
      url: string;
      token: string;
    };
    const api = createClient(contract, createHttpTransport({ baseUrl: info.url, token: info.token }));
    const { deployments } = await api.deployments.list({});
    expect(deployments).toHaveLength(1);
    const view = await api.deployments.get({ id: deployments[0]!.id });
    expect(view.appId).toBe('hello-wasm');
    expect(view.nodes.map((n) => [n.nodeName, n.state])).toEqual([['press-01', 'installed']]);
    expect(out).toContain('installed');

    // Ctrl-C ends `agent logs --follow`, the last line (in a terminal it goes to the foreground command;
    // here to edgectl under npx): the walkthrough ends well, the server and the agent keep running.
    const follower = followerPid();
    expect(follower, 'the edgectl process of agent logs --follow').toBeDefined();
    process.kill(follower!, 'SIGINT');
    expect(await exited, `--- stdout\n${out}\n--- stderr\n${err}`).toBe(0);
  }, 300_000);
});

/** The pid of `node .../bin/edgectl.js agent logs hello-wasm --follow` (npx's child). */
function followerPid(): number | undefined {
  for (const p of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const argv = fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0');
      const at = argv.findIndex(
        (a) => a.endsWith(`${path.sep}edgectl.js`) || a.endsWith(`${path.sep}edgectl`),
      );
      if (at >= 0 && argv.slice(at + 1, at + 5).join(' ') === 'agent logs hello-wasm --follow')
        return Number(p);
    } catch {
      // gone
    }
  }
  return undefined;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
