import type { Command } from 'commander';
import { register as run } from './run.js';
import { register as enroll } from './enroll.js';
import { register as status } from './status.js';
import { register as logs } from './logs.js';
import { register as installService } from './install-service.js';

/**
 * `edgectl agent ...`: the edge node agent. `edgectl agent` itself runs it headless; the subcommands
 * enroll the node, show its state and its workloads' output from its files, and install the systemd unit.
 */
export function head(program: Command): Command {
  return run(program);
}

export function register(program: Command): void {
  const agent = head(program);
  enroll(agent);
  status(agent);
  logs(agent);
  installService(agent);
}
