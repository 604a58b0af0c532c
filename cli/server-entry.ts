// `edgectl server` as one CommonJS bundle (dist/cli/server.cjs) that bin/edgectl.js runs with V8's code
// cache (lib/base/code-cache.ts, ADR 0560): the program with its global options and the server command
// only (`edgectl server --help` and every other command run from dist/cli/edgectl.js).
import { register } from './commands/server.js';
import { baseProgram, runProgram } from './lib/program.js';

void runProgram(() => {
  const program = baseProgram();
  register(program);
  return program;
}, process.argv);
