import { describe, expect, it } from 'vitest';
import * as margo from './index.js';

describe('core/margo public entry', () => {
  it('exports exactly the documented API (update index.ts docs when this changes)', () => {
    expect(Object.keys(margo).sort()).toEqual([
      'DEFAULT_MAX_BYTES',
      'DIGEST',
      'INVALID_REQUEST',
      'OUTPOST_EXTENSION_KEY',
      'SEMANTIC_ERROR',
      'canonicalJson',
      'checkParameterValue',
      'coerceParameterInput',
      'compareRevisions',
      'encodeStateManifest',
      'formatPath',
      'formatProblem',
      'isDigest',
      'isParameterValue',
      'isRevision',
      'margoPatterns',
      'matchesDataType',
      'normalizeApplicationDeployment',
      'normalizeApplicationDescription',
      'overallState',
      'parameterDataType',
      'parseApplicationDeployment',
      'parseApplicationDescription',
      'parseDeploymentStatus',
      'parseDeviceCapabilities',
      'parseDigest',
      'parseQuantity',
      'parseStateManifest',
      'renderApplicationDeployment',
      'renderApplicationDescription',
      'resolveParameters',
      'revisionToSemver',
      'semverToRevision',
      'serializeStateManifest',
      'settingsByParameter',
      'sha256Digest',
      'tryParseQuantity',
    ]);
  });
});
