/**
 * The device simulator as a process on one end of a PTY pair, for integration tests, benchmarks
 * and trying `edgectl smp` without a board:
 *
 *   socat -d -d pty,raw,echo=0,link=/tmp/mcu pty,raw,echo=0,link=/tmp/mcu-sim &
 *   node dist/cli/smp-simulator.js --port /tmp/mcu-sim &
 *   edgectl smp echo --port /tmp/mcu hello
 *
 * Standard output carries one JSON object per line: {"event":"ready"}, then the simulator's events
 * (requests, uploads, dropped frames, resets). Standard input takes one JSON command per line:
 * {"op":"reset"} {"op":"unplug"} {"op":"plug","port":PATH} {"op":"drop-frames","count":N}
 * {"op":"exit-container","id":ID,"code":N} {"op":"state"} {"op":"quit"}.
 */
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { SmpSimulator, type SimulatorPort } from './simulator.js';

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    baud: { type: 'string' },
    'buf-size': { type: 'string' },
    'line-buffers': { type: 'string' },
    'drop-frame': { type: 'string', multiple: true },
    'ocre-output': { type: 'string' },
    'no-prompt': { type: 'boolean' },
    'flash-bytes': { type: 'string' },
    quiet: { type: 'boolean' },
  },
});

const out = (o: object) => process.stdout.write(JSON.stringify(o) + '\n');
const num = (v: string | undefined) => (v === undefined ? undefined : Number(v));

if (!values.port) {
  process.stderr.write('smp-simulator: --port PATH is required (one end of a PTY pair)\n');
  process.exit(2);
}

const simulator = new SmpSimulator({
  baudRate: num(values.baud),
  bufSize: num(values['buf-size']),
  lineBuffers: num(values['line-buffers']),
  dropFrames: (values['drop-frame'] ?? []).map(Number),
  ocreOutput: values['ocre-output'] === 'console' ? 'console' : 'shell',
  prompt: values['no-prompt'] ? false : undefined,
  flashBytes: num(values['flash-bytes']),
  onEvent: (e) => {
    if (!values.quiet || e.event !== 'request') out(e);
  },
});

async function open(path: string): Promise<SimulatorPort> {
  const { SerialPort } = await import('serialport');
  const port = new SerialPort({ path, baudRate: 115200, autoOpen: false });
  await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
  return port as unknown as SimulatorPort;
}

async function main(): Promise<void> {
  simulator.attach(await open(values.port!));
  out({ event: 'ready' });
  const rl = createInterface({ input: process.stdin });
  rl.on('line', (line) => {
    let cmd: { op?: string; port?: string; count?: number; id?: string; code?: number };
    try {
      cmd = JSON.parse(line) as typeof cmd;
    } catch {
      out({ event: 'error', message: `not JSON: ${line}` });
      return;
    }
    switch (cmd.op) {
      case 'reset':
        simulator.reset('external');
        break;
      case 'unplug':
        simulator.unplug();
        break;
      case 'plug':
        open(cmd.port ?? values.port!).then(
          (p) => simulator.attach(p),
          (err: Error) => out({ event: 'error', message: err.message }),
        );
        break;
      case 'drop-frames':
        simulator.dropNextFrames(cmd.count ?? 1);
        break;
      case 'exit-container':
        out({ event: 'exit-container', ok: simulator.exitContainer(cmd.id ?? '', cmd.code ?? 0) });
        break;
      case 'state':
        out({ event: 'state', ...simulator.state() });
        break;
      case 'quit':
        simulator.unplug();
        process.exit(0);
        break;
      default:
        out({ event: 'error', message: `unknown op ${String(cmd.op)}` });
    }
  });
  // Standard input may be /dev/null (started in the background): only "quit" or SIGTERM end it.
  process.on('SIGTERM', () => {
    simulator.unplug();
    process.exit(0);
  });
}

main().catch((err: Error) => {
  process.stderr.write(`smp-simulator: ${err.message}\n`);
  process.exit(1);
});
