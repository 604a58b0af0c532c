import { expect, it } from 'vitest';
import * as placement from './index.js';

it('exports the public API of core/placement and nothing else', () => {
  expect(Object.keys(placement).sort()).toEqual([
    'PREFERRED_LABEL',
    'REASON_CODES',
    'SCORE_WEIGHTS',
    'batchSizeOf',
    'compileConstraints',
    'createRollout',
    'formatBytes',
    'isPreparedNodes',
    'maxUnavailableOf',
    'nextStep',
    'parseRolloutPlan',
    'pauseRollout',
    'place',
    'placeMany',
    'prepareNodes',
    'promoteRollout',
    'requestRollback',
    'reservationFor',
    'resumeRollout',
    'retryRollout',
    'rulesMatch',
    'toleratedFailures',
  ]);
});
