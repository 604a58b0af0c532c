import cliProgress from 'cli-progress';
import { OutpostError } from '../../../lib/errors/index.js';
import {
  formatAgeWords,
  formatBytes,
  formatSeconds,
  type BundleJob,
  type BundleReport,
  type ClientOf,
  type Contract,
} from '../../../lib/contract/index.js';
import { keyValues } from '../../lib/output.js';

/** What the `bundle` commands share: following a server job with progress and Ctrl-C, and the reports. */

/** A job that ended badly, as the error it carries (so the CLI prints one line and its exit code). */
export function jobError(job: BundleJob): OutpostError {
  const e = job.error ?? { code: 'internal', message: `${job.label}: ${job.state}`, status: 500 };
  return new OutpostError(e.code, e.message, { status: e.status });
}

/**
 * Follows a server job to its end: a progress bar on stderr (bytes, rate, time left) on a terminal, a
 * line every few seconds otherwise; Ctrl-C cancels the job on the server and waits for it to stop.
 */
export async function followJob(
  client: ClientOf<Contract>,
  start: BundleJob,
  options: { quiet?: boolean; stream?: NodeJS.WriteStream } = {},
): Promise<BundleJob> {
  const stream = options.stream ?? process.stderr;
  const tty = stream.isTTY === true && !options.quiet;
  let bar: cliProgress.SingleBar | undefined;
  let lastLine = 0;
  let phase = '';
  let interrupted = false;
  const onSigint = () => {
    if (interrupted) {
      stream.write('\nedgectl: second interrupt, leaving the job to the server\n');
      process.exit(130);
    }
    interrupted = true;
    stream.write(`\nedgectl: cancelling ${start.label}...\n`);
    client.bundle.cancelJob({ id: start.id }).catch((err: unknown) => {
      stream.write(`edgectl: ${(err as Error).message}\n`);
    });
  };
  process.on('SIGINT', onSigint);
  const show = (j: BundleJob) => {
    if (options.quiet) return;
    const total = j.totalBytes ?? 0;
    const rate = j.rate ? `${formatBytes(j.rate)}/s` : '';
    const eta = j.etaSeconds !== null ? `ETA ${formatSeconds(j.etaSeconds)}` : '';
    if (tty) {
      if (j.phase !== phase) {
        bar?.stop();
        bar = undefined;
        phase = j.phase;
      }
      if (!bar && (j.bytes > 0 || total > 0)) {
        bar = new cliProgress.SingleBar(
          {
            stream,
            hideCursor: true,
            clearOnComplete: true,
            barsize: 30,
            format: `${j.phase.padEnd(9)} |{bar}| {done}{of} {rate} {eta}`,
          },
          cliProgress.Presets.shades_classic,
        );
        bar.start(Math.max(total, j.bytes, 1), 0, { done: '', of: '', rate: '', eta: '' });
      }
      if (bar) {
        if (total > bar.getTotal()) bar.setTotal(total);
        if (!total && j.bytes > bar.getTotal()) bar.setTotal(j.bytes * 2);
        bar.update(j.bytes, {
          done: formatBytes(j.bytes),
          of: total ? ` of ${formatBytes(total)}` : '',
          rate,
          eta,
        });
      }
      return;
    }
    // The end is printed by the command (what was written or imported, and the throughput).
    if (j.state !== 'running' || j.phase === 'starting') return;
    const now = Date.now();
    if (j.phase !== phase || now - lastLine >= 2000) {
      phase = j.phase;
      lastLine = now;
      const pct = total ? ` ${Math.floor((j.bytes / total) * 100)}%` : '';
      const bytes =
        j.bytes || total ? ` ${formatBytes(j.bytes)}${total ? ` of ${formatBytes(total)}` : ''}` : '';
      stream.write(`${j.label}: ${j.phase}${pct}${bytes}${rate ? ` ${rate}` : ''}${eta ? ` ${eta}` : ''}\n`);
    }
  };
  try {
    let j = start;
    for (;;) {
      show(j);
      if (j.state !== 'running') return j;
      await new Promise((r) => setTimeout(r, 200));
      j = await client.bundle.job({ id: start.id });
    }
  } finally {
    bar?.stop();
    process.off('SIGINT', onSigint);
  }
}

/** Runs a job to its end and returns it when it succeeded; throws its error otherwise. */
export async function runJob(
  client: ClientOf<Contract>,
  start: BundleJob,
  options: { quiet?: boolean } = {},
): Promise<BundleJob> {
  const j = await followJob(client, start, options);
  if (j.state !== 'succeeded') throw jobError(j);
  return j;
}

/** `30d`, `12h`, `90m` or a number of days, as days. */
export function parseExpires(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const m = /^(\d+(?:\.\d+)?)([dhm]?)$/.exec(v.trim());
  if (!m)
    throw new OutpostError('invalid-input', `--expires "${v}": give a duration such as 30d, 12h or 90m`);
  const n = Number(m[1]);
  const days = m[2] === 'h' ? n / 24 : m[2] === 'm' ? n / 1440 : n;
  if (!(days > 0) || days > 3650)
    throw new OutpostError('invalid-input', `--expires "${v}": between a minute and 3650 days`);
  return days;
}

/** The end-of-job line: what was written or read, how long it took, the throughput. */
export function throughputLine(j: BundleJob): string {
  const r = j.result;
  if (!r) return '';
  const tp = r.throughput ? `, ${formatBytes(r.throughput)}/s` : '';
  return `${r.size !== null ? formatBytes(r.size) : ''} in ${formatSeconds(r.seconds)}${tp}`;
}

/** What a verified bundle is and what importing it changes (or changed), for `bundle verify` and `import`. */
export function describeReport(r: BundleReport, now: number, file: string | null): string {
  const kind =
    r.kind === 'hq-to-site'
      ? `HQ bundle ${r.source} -> site ${r.target}`
      : `status bundle of site ${r.source} -> ${r.target}`;
  const c = r.changes;
  const when = (t: number) => {
    const d = now - t;
    return d >= 0 ? `${formatAgeWords(d)} ago` : `in ${formatAgeWords(-d)}`;
  };
  const rows: [string, string | number | null][] = [
    ['bundle', `${file ?? '-'} (${formatBytes(r.bytes)})`],
    [
      'what',
      `${kind}, #${r.sequence} (last imported here: ${r.lastSequence === null ? 'none' : `#${r.lastSequence}`})`,
    ],
    ['created', `${new Date(r.created).toISOString()} (${when(r.created)})`],
    ['expires', `${new Date(r.expires).toISOString()} (${when(r.expires)})`],
    [
      'signed by',
      `${r.signer.keyId} (trusted as ${r.signer.trustedAs}), ${r.signer.fingerprint}${r.signer.rotated.length ? `; follows rotation to ${r.signer.rotated.join(', ')}` : ''}`,
    ],
    ['blobs', `${r.blobs.count} (${formatBytes(r.blobs.bytes)}), every digest verified`],
  ];
  if (c.git)
    rows.push([
      'desired state',
      c.git.commits === 0
        ? `already at ${c.git.to.slice(0, 12)}`
        : `${c.git.commits} new commit${c.git.commits === 1 ? '' : 's'}, ${c.git.current ? c.git.current.slice(0, 12) : '(nothing)'} -> ${c.git.to.slice(0, 12)}${c.git.nodes.length ? `; nodes: ${c.git.nodes.join(', ')}` : ''}`,
    ]);
  if (r.kind === 'hq-to-site') {
    rows.push([
      'artifacts',
      `${c.artifacts.total} referenced, ${c.artifacts.new} new to the site registry (${formatBytes(c.artifacts.newBytes)})`,
    ]);
    rows.push(['applications', c.apps.total ? `${c.apps.names.join(', ')} (${c.apps.new} new)` : 'none']);
  }
  if (c.status)
    rows.push([
      'status',
      `${c.status.nodes} nodes, ${c.status.statuses} new statuses, ${c.status.audit} audit entries, ${c.status.events} events, as of ${when(c.status.asOf)}`,
    ]);
  if (c.newKeys.length) rows.push(['new keys', c.newKeys.join(', ')]);
  if (c.acknowledges !== null)
    rows.push(['acknowledges', `${r.kind === 'hq-to-site' ? 'status' : 'HQ'} bundle #${c.acknowledges}`]);
  for (const w of r.warnings) rows.push(['warning', w]);
  return keyValues(rows);
}
