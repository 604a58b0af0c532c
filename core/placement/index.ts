/**
 * Placement (intelligent edge node selection) and the rollout planner: pure, synchronous engines
 * over plain data. This file is the only public entry of core/placement.
 */
export { place, placeMany, SCORE_WEIGHTS } from './place.js';
export { prepareNodes, isPreparedNodes, type PreparedNodes } from './nodes.js';
export {
  compileConstraints,
  reservationFor,
  rulesMatch,
  type CompiledConstraints,
  type CompiledExpression,
  type CompiledRule,
} from './constraints.js';
export { REASON_CODES, type FailureCode } from './explain.js';
export { PREFERRED_LABEL } from './request.js';
export { formatBytes } from './quantity.js';
export {
  createRollout,
  nextStep,
  parseRolloutPlan,
  pauseRollout,
  resumeRollout,
  promoteRollout,
  requestRollback,
  retryRollout,
  batchSizeOf,
  maxUnavailableOf,
  toleratedFailures,
  type AllAtOnceStrategy,
  type BatchesStrategy,
  type CanaryStrategy,
  type CreateRolloutInput,
  type NodeRolloutState,
  type ObservedNode,
  type ObservedNodes,
  type RolloutDecision,
  type RolloutPhase,
  type RolloutPlan,
  type RolloutProgress,
  type RolloutStep,
  type RolloutStrategy,
  type WaitReason,
} from './rollout.js';
