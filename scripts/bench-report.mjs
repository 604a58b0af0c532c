// Collects bench/results/*.json into bench/results/SUMMARY.md (numbers from the last `npm run bench`).
import fs from 'node:fs';
import path from 'node:path';

const dir = path.resolve('bench/results');
const files = fs.existsSync(dir)
  ? fs
      .readdirSync(dir)
      .filter((f) => f.endsWith('.json'))
      .sort()
  : [];
const lines = [
  `# Benchmark results`,
  '',
  `Machine: ${(await import('node:os')).cpus().length} cores, node ${process.version}. Generated ${new Date().toISOString()}.`,
  '',
];
for (const f of files) {
  const data = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'));
  lines.push(`## ${f.replace(/\.json$/, '')}`, '', '```json', JSON.stringify(data, null, 2), '```', '');
}
fs.writeFileSync(path.join(dir, 'SUMMARY.md'), lines.join('\n'));
console.log(`bench: ${files.length} result files summarised in bench/results/SUMMARY.md`);
