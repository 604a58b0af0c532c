// Self time per function of a V8 CPU profile between two CLOCK_MONOTONIC µs instants:
//   node bench/fleet/profile-slices.mjs PROFILE.cpuprofile FROM_US TO_US [TOP]
import fs from 'node:fs';
const [file, from, to, top = '30'] = process.argv.slice(2);
const p = JSON.parse(fs.readFileSync(file, 'utf8'));
const self = new Map();
const byId = new Map(p.nodes.map((n) => [n.id, n]));
let t = p.startTime;
let total = 0;
p.samples.forEach((id, i) => {
  t += p.timeDeltas[i] ?? 0;
  if (t < Number(from) || t > Number(to)) return;
  const dt = p.timeDeltas[i + 1] ?? 0;
  const f = byId.get(id).callFrame;
  const k = `${f.functionName || '(anon)'} ${f.url.split('/').slice(-2).join('/')}:${f.lineNumber}`;
  self.set(k, (self.get(k) ?? 0) + dt);
  total += dt;
});
console.log(
  `window ${((Number(to) - Number(from)) / 1e6).toFixed(1)} s, sampled ${(total / 1e6).toFixed(2)} s`,
);
for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, Number(top)))
  console.log(`${(v / 1000).toFixed(0).padStart(7)} ms  ${k}`);
// Inclusive time (each function counted once per sample, wherever it is on the stack).
const parent = new Map();
for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const incl = new Map();
t = p.startTime;
p.samples.forEach((id, i) => {
  t += p.timeDeltas[i] ?? 0;
  if (t < Number(from) || t > Number(to)) return;
  const dt = p.timeDeltas[i + 1] ?? 0;
  const seen = new Set();
  for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
    const f = byId.get(cur).callFrame;
    const k = `${f.functionName || '(anon)'} ${f.url.split('/').slice(-2).join('/')}:${f.lineNumber}`;
    if (seen.has(k)) continue;
    seen.add(k);
    incl.set(k, (incl.get(k) ?? 0) + dt);
  }
});
console.log('--- inclusive');
for (const [k, v] of [...incl].sort((a, b) => b[1] - a[1]).slice(0, Number(top) * 2))
  console.log(`${(v / 1000).toFixed(0).padStart(7)} ms  ${k}`);
