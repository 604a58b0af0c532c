/**
 * The pure Margo model (environment: common; imports neither Node nor Ajv nor a YAML parser, so the
 * console, the agent and the control plane can all load it): the Margo types and patterns, one quantity
 * grammar, digests, canonical JSON (RFC 8785), the overall deployment state,
 * revisions, parameter value rules, the shapes placement reads and returns, and the problem and reader
 * helpers the parsers in lib/margo and lib/margo-validation share. Decisions: docs/adr/0100-0107.
 *
 * - parseQuantity('59 Gi') → bytes (binary Ki..Ei, decimal k..E, a space before the unit, fractions
 *   rounded up); tryParseQuantity → undefined instead of an error; parseByteQuantity also takes numbers.
 * - canonicalJson(value) → string (RFC 8785); parseDigest(s) / isDigest(s) / DIGEST: `sha256:<hex>`.
 * - overallState(states) → the most severe state (failed > removing > installing > pending > installed;
 *   removed only when all are removed).
 * - compareRevisions('1.2.3_b1', '1.2.4'), revisionToSemver, semverToRevision, isRevision.
 * - checkParameterValue(value, rule) → string[] (browser-safe), isParameterValue, matchesDataType.
 * - resolveParameters(desc, profileId, given, { previous? }) → { [name]: { value, targets, source, immutable } },
 *   throws `invalid-input` with one FieldProblem (`parameters.<name>`) per bad value;
 *   coerceParameterInput(raw, dataType?, name?) → value for `--set name=value`; parameterDataType(desc, name).
 */
export * from './types.js';
export * from './patterns.js';
export * from './placement.js';
export { parseQuantity, tryParseQuantity, parseByteQuantity } from './quantity.js';
export { canonicalJson } from './canonical-json.js';
export { parseDigest, isDigest, DIGEST, type ParsedDigest } from './digest.js';
export { overallState } from './overall-state.js';
export { compareRevisions, revisionToSemver, semverToRevision, isRevision } from './revision.js';
export * from './parameter-validation.js';
export * from './problems.js';
export * from './reader.js';
export {
  resolveParameters,
  coerceParameterInput,
  parameterDataType,
  settingsByParameter,
  type ResolvedParameter,
  type ResolveParametersOptions,
} from './resolve-parameters.js';
export * from './presence.js';
