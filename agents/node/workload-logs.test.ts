import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { agentPaths } from './home.js';
import type { DeploymentRecord } from './state.js';
import { findDeployment, followWorkloadLogs, readWorkloadLogs, wasmOutputFiles } from './workload-logs.js';
import { waitFor } from '../../test/helpers/wait.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-wlogs-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const record = (id: string, name: string, components: string[]): DeploymentRecord => ({
  deploymentId: id,
  name,
  desired: true,
  digest: 'sha256:00',
  adoptedManifestVersion: 1,
  workloads: components.map((c) => ({ workloadId: `${id}.${c}`, kind: 'wasm', component: c, specHash: 'x' })),
  failures: 0,
  updatedAt: 0,
});

function home(name: string, deployments: DeploymentRecord[]) {
  const paths = agentPaths(path.join(tmp, name));
  fs.mkdirSync(paths.home, { recursive: true });
  fs.writeFileSync(
    paths.stateFile,
    JSON.stringify({
      version: 1,
      manifestVersion: 1,
      deployments: Object.fromEntries(deployments.map((d) => [d.deploymentId, d])),
    }),
  );
  return paths;
}

function write(file: string, text: string, append = false) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  if (append) fs.appendFileSync(file, text);
  else fs.writeFileSync(file, text);
}

describe('workload logs on the node', () => {
  it('finds a deployment by id, name, or a prefix only one has', () => {
    const paths = home('find', [
      record('1a2b3c4d-0000', 'hello-wasm-1a2b3c4d', ['hello']),
      record('9f8e7d6c-0000', 'hello-wasm-9f8e7d6c', ['hello']),
      record('5555aaaa-0000', 'web-5555aaaa', ['web']),
    ]);
    expect(findDeployment(paths, '9f8e7d6c-0000').name).toBe('hello-wasm-9f8e7d6c');
    expect(findDeployment(paths, 'web').deploymentId).toBe('5555aaaa-0000');
    expect(findDeployment(paths, '1a2b').name).toBe('hello-wasm-1a2b3c4d');
    expect(() => findDeployment(paths, 'hello-wasm')).toThrow(/names 2 deployments on this node/);
    expect(() => findDeployment(paths, 'nope')).toThrow(/no deployment "nope" on this node; it has/);
    expect(() => findDeployment(agentPaths(path.join(tmp, 'empty')), 'x')).toThrow(/has none/);
  });

  it('reads the last lines across the rotated file, per component', async () => {
    const d = record('dep-1', 'two', ['a', 'b']);
    const paths = home('read', [d]);
    const [oldA, curA] = wasmOutputFiles(paths, 'dep-1.a');
    write(oldA!, 'a1\na2\n');
    write(curA!, 'a3\na4\n');
    const logs = await readWorkloadLogs(paths, d, { tail: 3 });
    expect(logs).toEqual([
      { component: 'a', kind: 'wasm', lines: ['a2', 'a3', 'a4'], truncated: true },
      {
        component: 'b',
        kind: 'wasm',
        lines: [],
        truncated: false,
        note: 'no output yet (the module has not started)',
      },
    ]);
    expect((await readWorkloadLogs(paths, d, { component: 'a' }))[0]).toMatchObject({
      lines: ['a1', 'a2', 'a3', 'a4'],
      truncated: false,
    });
    // A byte limit cuts at the front and drops the partial line.
    expect((await readWorkloadLogs(paths, d, { component: 'a', maxBytes: 7 }))[0]).toMatchObject({
      lines: ['a3', 'a4'],
      truncated: true,
    });
    await expect(readWorkloadLogs(paths, d, { component: 'c' })).rejects.toThrow(
      'deployment two has no component "c" (it has a, b)',
    );
  });

  it('follows appended output and a rotation until aborted', async () => {
    const d = record('dep-2', 'one', ['m']);
    const paths = home('follow', [d]);
    const [, cur] = wasmOutputFiles(paths, 'dep-2.m');
    write(cur!, 'old\n');
    const got: string[] = [];
    const ac = new AbortController();
    const done = followWorkloadLogs(paths, d, {
      tail: 1,
      pollMs: 20,
      signal: ac.signal,
      onLine: (c, l) => got.push(`${c}:${l}`),
    });
    const until = (n: number) => waitFor(() => got.length >= n, `${n} log line(s)`);
    await until(1);
    write(cur!, 'new 1\nnew', true);
    await until(2);
    write(cur!, ' 2\n', true);
    await until(3);
    // Copy-truncate rotation: the file starts over, shorter than before.
    write(cur!, 'x\n');
    await until(4);
    ac.abort();
    await done;
    expect(got).toEqual(['m:old', 'm:new 1', 'm:new 2', 'm:x']);
  });
});
