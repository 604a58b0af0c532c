/**
 * Plain-data shapes of the placement engine (inputs and results). Results are JSON-serialisable so the
 * CLI table, `--json` output and the console wizard can all show "why not this node".
 */
import type { DeploymentProfile, DeviceCapabilities } from './types.js';
import type { Presence } from './presence.js';

export type LabelValue = string | number | boolean | string[] | number[];

export interface Reservation {
  cpuCores: number;
  memoryBytes: number;
  storageBytes: number;
}

/** One edge node as placement sees it. The caller builds it from the fleet store. */
export interface PlacementNode {
  uid: string;
  name: string;
  siteId: string;
  /** Spread key: nodes on the same physical host (e.g. MCUs behind one gateway). Default: uid. */
  hostId?: string;
  /**
   * The gateway of a child device (an MCU behind its host, ADR 0443): a deployment takes at most one
   * child device per gateway, since the gateway serves all of them one manifest.
   */
  gatewayId?: string;
  enrolled: boolean;
  cordoned: boolean;
  presence: Presence;
  /** Epoch ms of the last report, null if never. */
  lastSeenAt: number | null;
  /** The Margo capabilities the node reported (normalised), null if none yet. */
  capabilities: DeviceCapabilities | null;
  /** Capabilities labels merged with operator labels (operator labels win); the caller merges. */
  labels: Record<string, LabelValue>;
  /** What existing deployments already reserve on this node. */
  reserved: Reservation;
}

export interface PlacementRequest {
  profile: DeploymentProfile;
  /** Number of nodes to place on (one replica per node), or every eligible node. */
  replicas: number | 'all';
  /** Operator label filter, `key=value` pairs ANDed (not a Margo rule). */
  selector?: Record<string, string>;
  /** Only nodes of this site are candidates. */
  siteId?: string;
  /** Explicit targets: only these are candidates; they are still filtered and a failed filter is reported. */
  nodeUids?: string[];
  /**
   * Operator preference labels: matching nodes score higher (not a filter). Default (when undefined):
   * `{ 'outpost.dev/preferred': 'true' }`, the label operators put on the nodes they prefer (ADR 0360).
   */
  preferLabels?: Record<string, string>;
  /** Epoch ms (injected clock). */
  now: number;
  /** A node that reported within this many ms counts as healthy. */
  staleAfterMs: number;
}

/**
 * Why a node was not placed (or a note on a placed one).
 * Codes: `unknown-node`, `not-enrolled`, `offline`, `cordoned`, `no-capabilities`, `deployment-type`,
 * `runtime`, `arch`, `capacity.cpu`, `capacity.memory`, `capacity.storage`, `peripheral`, `interface`,
 * `selector`, `rule.no-match`, `not-selected`.
 */
export interface PlacementReason {
  code: string;
  /** Human text: which rule, which value, how much is left. */
  message: string;
}

/** Capacity left on a node after this placement (negative = shortfall); null when the node does not report it. */
export interface CapacityAfter {
  cpuCores: number | null;
  memoryBytes: number | null;
  storageBytes: number | null;
}

export interface PlacementCandidate {
  uid: string;
  name: string;
  siteId: string;
  eligible: boolean;
  placed: boolean;
  /** 0..100 for eligible nodes, null otherwise. */
  score: number | null;
  /** 1-based position among eligible nodes (placement order), null when not eligible. */
  rank: number | null;
  reasons: PlacementReason[];
  capacityAfter?: CapacityAfter;
}

export interface PlacementResult {
  placeable: boolean;
  /** Node uids in rank order. Empty when not placeable (nothing may be written). */
  placed: string[];
  /** What each placed node reserves (the same for every replica). */
  reservation: Reservation;
  /** Every candidate in scope (all of them, or only the placed ones when asked for less detail). */
  candidates: PlacementCandidate[];
  /** Number of nodes in scope (site / explicit targets), whether listed in `candidates` or not. */
  considered: number;
  eligibleCount: number;
  /** Nodes per primary reason code, e.g. `{ offline: 8, 'capacity.memory': 4 }`. */
  rejected: Record<string, number>;
  /** e.g. "placed on 3 of 12 nodes" or "not placeable: 12 nodes, none fits: 8 offline, 4 lack memory (need 2Gi)". */
  summary: string;
}

export interface PlaceOptions {
  /** Which candidates to list: all in scope (default), only the placed ones, or none. Counts are always given. */
  candidates?: 'all' | 'placed' | 'none';
}
