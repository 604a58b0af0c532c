import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { renderUnit, systemdQuote, unitLaunch } from './systemd.js';

const template =
  'ExecStart=@NODE@ @EDGECTL@ agent --home @AGENT_HOME@@EXTRA_ARGS@\nDocumentation=file:@ROOT@/x\n';

describe('systemd unit', () => {
  it('fills in the paths, quoting what needs it', () => {
    expect(
      renderUnit({
        template,
        node: '/usr/bin/node',
        edgectl: '/opt/outpost/bin/edgectl.js',
        home: '/var/lib/outpost-agent',
        root: '/opt/outpost',
      }),
    ).toBe(
      'ExecStart=/usr/bin/node /opt/outpost/bin/edgectl.js agent --home /var/lib/outpost-agent\nDocumentation=file:/opt/outpost/x\n',
    );
    expect(
      renderUnit({
        template,
        node: '/usr/bin/node',
        edgectl: '/e.js',
        home: '/srv/my agent',
        root: '/r',
        lo: 'https://lo:7443',
      }),
    ).toContain('agent --home "/srv/my agent" --lo https://lo:7443');
    expect(systemdQuote('a"b$c%d')).toBe('"a\\"b$$c%%d"');
  });

  it('refuses relative paths, line breaks and a non-https LO', () => {
    expect(() => renderUnit({ template, node: 'node', edgectl: '/e', home: '/h', root: '/r' })).toThrow(
      /absolute node path/,
    );
    expect(() =>
      renderUnit({ template, node: '/n', edgectl: '/e', home: '/h\nExecStartPre=/bin/evil', root: '/r' }),
    ).toThrow(/line break/);
    expect(() =>
      renderUnit({ template, node: '/n', edgectl: '/e', home: '/h', root: '/r', lo: 'http://lo' }),
    ).toThrow(/https/);
  });

  it('reads back how the shipped unit starts the agent: its command line and environment', () => {
    const unit = renderUnit({
      template: fs.readFileSync(path.resolve('resources/systemd/outpost-agent.service'), 'utf8'),
      node: '/usr/bin/node',
      edgectl: '/opt/outpost/bin/edgectl.js',
      home: '/srv/my agent',
      root: '/opt/outpost',
      lo: 'https://lo:7443',
    });
    const launch = unitLaunch(unit);
    expect(launch.argv[0]).toBe('/usr/bin/node');
    expect(launch.argv.slice(launch.argv.indexOf('/opt/outpost/bin/edgectl.js'))).toEqual([
      '/opt/outpost/bin/edgectl.js',
      'agent',
      '--home',
      '/srv/my agent',
      '--lo',
      'https://lo:7443',
    ]);
    expect(launch.env).toMatchObject({
      EDGE_AGENT_HOME: '/srv/my agent',
      HOME: '/srv/my agent',
      NODE_OPTIONS: '--max-semi-space-size=1',
    });
    expect(unitLaunch('Environment="A=x y" B=$$1\nExecStart=/n "a\\"b" c%%d\n')).toEqual({
      argv: ['/n', 'a"b', 'c%d'],
      env: { A: 'x y', B: '$1' },
    });
    expect(() => unitLaunch('[Service]\n')).toThrow(/no ExecStart/);
  });
});
