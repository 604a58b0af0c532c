export {
  parseApplicationDescription,
  normalizeApplicationDescription,
  type ParseApplicationDescriptionOptions,
  type ParsedApplicationDescription,
} from './parse-application-description.js';
export { renderApplicationDescription } from './render-application-description.js';
export {
  renderApplicationDeployment,
  type RenderApplicationDeploymentInput,
} from './render-application-deployment.js';
export {
  parseApplicationDeployment,
  normalizeApplicationDeployment,
  type ParseApplicationDeploymentOptions,
} from './parse-application-deployment.js';
export { DEFAULT_MAX_BYTES, loadYaml } from './yaml-source.js';
export { sha256Digest } from './digest.js';
export { buildBundle, tarOf, type BundleEntry } from './bundle.js';
export { serializeStateManifest, encodeStateManifest, parseStateManifest } from './state-manifest.js';
