import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openDeploymentsRepo, deploymentPath, parseDeploymentPath } from './deployments-repo.js';
import { silentLogger } from '../../lib/log/index.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-repo-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const gitCli = (args: string[], cwd: string) =>
  execFileSync('git', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
const author = { name: 'Outpost', email: 'outpost@localhost', timestamp: Date.UTC(2026, 0, 1) };

describe('deployments repository', () => {
  it('commits the desired tree; the git CLI sees the same bytes and a sound repository', async () => {
    const dir = path.join(tmp, 'r1');
    const repo = await openDeploymentsRepo(dir, silentLogger());
    expect(await repo.head()).toBeNull();
    const yamlA = Buffer.from('id: d1\nmetadata:\n  name: a\n');
    const yamlB = Buffer.from('id: d1\nmetadata:\n  name: b # with a comment and no trailing newline');
    const files = new Map([
      [deploymentPath('plant-1', 'n1', 'd1'), yamlA],
      [deploymentPath('plant-1', 'n2', 'd1'), yamlB],
      [deploymentPath('plant-2', 'n3', 'd1'), yamlA],
    ]);
    const c1 = await repo.commitTree(
      files,
      'deploy app 1.0.0 to 3 nodes (deployment d1) by operator:local',
      author,
    );
    expect(c1.changed).toBe(true);
    expect(gitCli(['rev-parse', 'HEAD'], dir).toString().trim()).toBe(c1.commit);
    gitCli(['fsck', '--strict'], dir);
    const clone = path.join(tmp, 'clone1');
    gitCli(['clone', '-q', dir, clone], tmp);
    expect(fs.readFileSync(path.join(clone, 'sites/plant-1/nodes/n2/d1.yaml'))).toEqual(yamlB);
    expect(gitCli(['log', '-1', '--format=%s%n%an <%ae>'], dir).toString()).toBe(
      'deploy app 1.0.0 to 3 nodes (deployment d1) by operator:local\nOutpost <outpost@localhost>\n',
    );
  });

  it('makes no commit when the tree did not change, and one commit per change otherwise', async () => {
    const dir = path.join(tmp, 'r2');
    const repo = await openDeploymentsRepo(dir, silentLogger());
    const files = new Map([[deploymentPath('s', 'n', 'd'), Buffer.from('x: 1\n')]]);
    const a = await repo.commitTree(files, 'one', author);
    const b = await repo.commitTree(new Map(files), 'two', author);
    expect(b).toEqual({ commit: a.commit, changed: false });
    const c = await repo.commitTree(new Map(), 'remove everything', author);
    expect(c.changed).toBe(true);
    expect(gitCli(['rev-list', '--count', 'HEAD'], dir).toString().trim()).toBe('2');
    expect(gitCli(['ls-tree', '-r', 'HEAD'], dir).toString()).toBe('');
    expect(gitCli(['log', '--format=%s'], dir).toString()).toBe('remove everything\none\n');
    gitCli(['fsck', '--strict'], dir);
  });

  it('sorts tree entries the way git does (names that prefix others)', async () => {
    const dir = path.join(tmp, 'r3');
    const repo = await openDeploymentsRepo(dir, silentLogger());
    const files = new Map([
      ['sites/a-b/nodes/x/d.yaml', Buffer.from('1')],
      ['sites/a/nodes/x/d.yaml', Buffer.from('2')],
      ['sites/a.b/nodes/x/d.yaml', Buffer.from('3')],
    ]);
    await repo.commitTree(files, 'sorting', author);
    gitCli(['fsck', '--strict'], dir);
  });

  it('parses deployment paths', () => {
    expect(parseDeploymentPath('sites/p/nodes/n/abc.yaml')).toEqual({
      siteId: 'p',
      nodeName: 'n',
      deploymentId: 'abc',
    });
    expect(parseDeploymentPath('sites/p/nodes/n/x/abc.yaml')).toBeUndefined();
    expect(parseDeploymentPath('README.md')).toBeUndefined();
  });
});
