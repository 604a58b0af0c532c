/**
 * Placement benchmark: one deployment over 10,000 nodes (raw and with prepared nodes cached), and
 * 1,000 deployments over 10,000 nodes with capacity accounted between them. Seeded random fleets.
 * Writes bench/results/placement.json. Numbers only: nothing here asserts on speed.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { fileURLToPath } from 'node:url';
import { it } from 'vitest';
import { place, placeMany, prepareNodes } from '../core/placement/index.js';
import { type PlaceOptions, type PlacementRequest } from '../lib/model/index.js';
import { randomFleet, randomRequests } from '../core/placement/testing/random-fleet.js';

const NODES = 10_000;
const DEPLOYMENTS = 1_000;
const FLEET_SEED = 20260101;
const REQUEST_SEED = 4242;
const TARGET_MS = 20;

const here = path.dirname(fileURLToPath(import.meta.url));

function gcFunction(): (() => void) | null {
  try {
    v8.setFlagsFromString('--expose-gc');
    return vm.runInNewContext('gc') as () => void;
  } catch {
    return null;
  }
}

function stats(samples: number[]) {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
  const round = (x: number) => Math.round(x * 1000) / 1000;
  return {
    runs: s.length,
    minMs: round(s[0]!),
    medianMs: round(at(0.5)),
    p99Ms: round(at(0.99)),
    maxMs: round(s[s.length - 1]!),
  };
}

function time(fn: () => void): number {
  const t = performance.now();
  fn();
  return performance.now() - t;
}

function mb(bytes: number): number {
  return Math.round((bytes / 1024 / 1024) * 10) / 10;
}

it('placement over 10,000 nodes', () => {
  const gc = gcFunction();
  const collect = () => gc?.();

  collect();
  const heapBase = process.memoryUsage().heapUsed;
  const buffersBase = process.memoryUsage().arrayBuffers;
  const nodes = randomFleet({ nodes: NODES, seed: FLEET_SEED, sites: 20 });
  const requests: PlacementRequest[] = randomRequests(DEPLOYMENTS, REQUEST_SEED);
  collect();
  const heapFleet = process.memoryUsage().heapUsed;

  // prepareNodes (what a caller caches while the fleet does not change).
  for (let k = 0; k < 3; k++) prepareNodes(nodes); // warm-up
  const prepareSamples = Array.from({ length: 15 }, () => time(() => prepareNodes(nodes)));
  const prepared = prepareNodes(nodes);
  collect();
  const heapPrepared = process.memoryUsage().heapUsed;
  const buffersPrepared = process.memoryUsage().arrayBuffers;

  const single = (
    label: string,
    runs: number,
    opts: PlaceOptions | 'materialize',
    input: 'prepared' | 'raw',
  ) => {
    const samples: number[] = [];
    let eligible = 0;
    for (let k = 0; k < runs + 20; k++) {
      const req = requests[k % 200]!;
      const t = performance.now();
      const r = place(req, input === 'prepared' ? prepared : nodes, opts === 'materialize' ? {} : opts);
      if (opts === 'materialize') void r.candidates.length; // build every candidate and reason
      const dt = performance.now() - t;
      if (k >= 20) samples.push(dt); // the first 20 are warm-up
      eligible += r.eligibleCount;
    }
    return { label, ...stats(samples), meanEligible: Math.round(eligible / (runs + 20)) };
  };

  const one = {
    preparedCandidatesLazy: single(
      'prepared nodes, candidates built on first read (default)',
      300,
      {},
      'prepared',
    ),
    preparedPlacedOnly: single(
      'prepared nodes, only placed candidates listed',
      300,
      { candidates: 'placed' },
      'prepared',
    ),
    preparedAllCandidatesBuilt: single(
      'prepared nodes, all 10,000 candidates and reasons built',
      100,
      'materialize',
      'prepared',
    ),
    rawNodes: single('raw nodes (prepareNodes inside every call)', 30, {}, 'raw'),
  };

  // 1,000 deployments, capacity accounted across them.
  collect();
  const heapBeforeMany = process.memoryUsage().heapUsed;
  let peakHeap = heapBeforeMany;
  let placeable = 0;
  const manyTimes: number[] = [];
  for (let round = 0; round < 2; round++) {
    const t = performance.now();
    const results = placeMany(requests, prepared);
    manyTimes.push(performance.now() - t);
    peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
    placeable = results.filter((r) => r.placeable).length;
  }
  collect();
  const heapAfterMany = process.memoryUsage().heapUsed;

  const result = {
    name: 'placement',
    date: new Date().toISOString(),
    machine: {
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model ?? 'unknown',
      node: process.version,
      loadAverage1m: Math.round(os.loadavg()[0]! * 100) / 100,
    },
    fleet: { nodes: NODES, seed: FLEET_SEED, sites: 20, requestSeed: REQUEST_SEED },
    targetMs: TARGET_MS,
    prepareNodes: stats(prepareSamples),
    oneDeployment: one,
    meetsTarget: one.preparedCandidatesLazy.medianMs < TARGET_MS,
    thousandDeployments: {
      deployments: DEPLOYMENTS,
      runs: manyTimes.length,
      totalMs: Math.round(Math.min(...manyTimes)),
      totalMsEachRun: manyTimes.map((x) => Math.round(x)),
      perDeploymentMs: Math.round((Math.min(...manyTimes) / DEPLOYMENTS) * 1000) / 1000,
      placeable,
    },
    memory: {
      gcAvailable: gc !== null,
      fleetObjectsMB: mb(heapFleet - heapBase),
      // Prepared nodes are mostly typed arrays, counted in arrayBuffers rather than the JS heap.
      preparedNodesMB: mb(heapPrepared - heapFleet + buffersPrepared - buffersBase),
      placeManyPeakHeapMB: mb(peakHeap),
      placeManyRetainedMB: mb(heapAfterMany - heapBeforeMany),
      heapUsedMB: mb(process.memoryUsage().heapUsed),
    },
  };
  fs.mkdirSync(path.join(here, 'results'), { recursive: true });
  fs.writeFileSync(path.join(here, 'results', 'placement.json'), JSON.stringify(result, null, 2) + '\n');
  console.log(JSON.stringify(result, null, 2));
});
