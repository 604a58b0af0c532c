import {
  APPLICATION_ID,
  COMPONENT_NAME,
  DEPLOYMENT_TYPES,
  EMAIL,
  LEGACY_APPLICATION_ID,
  OCI_REPOSITORY,
  OCI_TAG,
  OUTPOST_RUNTIMES,
  PROFILE_ID,
  REVISION,
  TIMEOUT,
  describe,
  isObject,
  type Obj,
  type Reader,
  OUTPOST_EXTENSION_KEY,
  type ApplicationDescription,
  type CatalogInfo,
  type Component,
  type ComponentProperties,
  type DeploymentProfile,
  type DeploymentType,
  type Path,
} from '../model/index.js';
import { readDeviceConstraints, readRequiredResources } from './read-device-constraints.js';
import { readConfiguration, readParameters } from './read-configuration.js';

/**
 * Checks a plain value (the YAML or JSON of a `margo.yaml`) against every rule of README section 1.1 and
 * builds the normalised ApplicationDescription. Problems go to `r.problems`; the result is meaningful only
 * when no error was recorded. `sourceOf` gives a scalar's text as written, for better hints.
 */
export function readApplicationDescription(
  r: Reader,
  value: unknown,
  sourceOf: (path: Path) => string | undefined = () => undefined,
): ApplicationDescription | undefined {
  const root = r.object([], value);
  if (!root) return undefined;
  const rootExt = r.keys(
    [],
    root,
    ['apiVersion', 'kind', 'id', 'metadata', 'deploymentProfiles', 'parameters', 'configuration'],
    { extensions: true, what: 'an application description' },
  );
  const apiVersion = r.string([], root, 'apiVersion', { nonEmpty: true });
  const kind = r.string([], root, 'kind');
  if (kind !== undefined && kind !== 'ApplicationDescription') {
    r.problems.error(['kind'], `must be "ApplicationDescription", not ${JSON.stringify(kind)}`);
  }
  const metadata = r.requiredObject([], root, 'metadata');
  const id = readId(r, root, metadata);
  const meta = metadata ? readMetadata(r, metadata, sourceOf) : undefined;

  const profiles: DeploymentProfile[] = [];
  const profileIds = new Map<string, number>();
  r.list([], root, 'deploymentProfiles', { required: true, nonEmpty: true })?.forEach((p, i) => {
    const profile = readProfile(r, ['deploymentProfiles', i], p, sourceOf);
    if (!profile) return;
    const prev = profileIds.get(profile.id);
    if (prev !== undefined) {
      r.problems.error(
        ['deploymentProfiles', i, 'id'],
        `duplicate profile id "${profile.id}" (also deploymentProfiles[${prev}])`,
      );
      return;
    }
    profileIds.set(profile.id, i);
    profiles.push(profile);
  });
  // Names as written (even in profiles with errors), so one bad profile does not cascade into targets.
  const componentNames = new Set<string>();
  if (Array.isArray(root.deploymentProfiles)) {
    for (const p of root.deploymentProfiles as unknown[]) {
      if (!isObject(p) || !Array.isArray(p.components)) continue;
      for (const c of p.components as unknown[])
        if (isObject(c) && typeof c.name === 'string') componentNames.add(c.name);
    }
  }
  const parameters = readParameters(r, root.parameters, componentNames);
  const configuration = readConfiguration(r, root.configuration, parameters);

  if (id === undefined || !meta) return undefined;
  const desc: ApplicationDescription = {
    ...(apiVersion !== undefined ? { apiVersion } : {}),
    ...(kind !== undefined ? { kind } : {}),
    id,
    metadata: meta,
    deploymentProfiles: profiles,
    parameters,
  };
  if (configuration) desc.configuration = configuration;
  if (rootExt) desc.extensions = rootExt;
  return desc;
}

function readId(r: Reader, root: Obj, metadata: Obj | undefined): string | undefined {
  const top = root.id;
  const old = metadata?.id;
  if ((top === undefined || top === null) && (old === undefined || old === null)) {
    r.problems.error(['id'], 'is required (at the top level; older descriptions have metadata.id)');
    return undefined;
  }
  const path: Path = top !== undefined && top !== null ? ['id'] : ['metadata', 'id'];
  const holder = path.length === 1 ? root : metadata!;
  const id = r.string(path.slice(0, -1), holder, 'id', { required: true });
  if (id === undefined) return undefined;
  if (path.length === 2) {
    r.problems.warn(
      path,
      'metadata.id is where older descriptions kept the id; newer ones have a top-level id',
    );
  } else if (old !== undefined && old !== null && old !== id) {
    r.problems.error(
      ['metadata', 'id'],
      `${JSON.stringify(old)} differs from the top-level id ${JSON.stringify(id)}`,
    );
  }
  if (APPLICATION_ID.test(id)) return id;
  if (LEGACY_APPLICATION_ID.test(id)) {
    r.problems.warn(
      path,
      `"${id}" has dots: accepted as in older descriptions, but rc.3 requires ${APPLICATION_ID.source} and strict devices may refuse its deployments`,
    );
    return id;
  }
  r.problems.error(
    path,
    `"${id}" must match ${APPLICATION_ID.source} (lowercase letters, digits and dashes, at most 200)`,
  );
  return undefined;
}

function readMetadata(
  r: Reader,
  m: Obj,
  sourceOf: (path: Path) => string | undefined,
): ApplicationDescription['metadata'] | undefined {
  const path: Path = ['metadata'];
  r.keys(path, m, ['id', 'name', 'description', 'version', 'catalog'], { what: 'metadata' });
  const name = r.string(path, m, 'name', { required: true, name: true });
  const description = r.string(path, m, 'description');
  let version: string | undefined;
  if (typeof m.version === 'number') {
    const written = sourceOf([...path, 'version']) ?? String(m.version);
    r.problems.error([...path, 'version'], `must be a string, not a number; quote it: "${written}"`);
  } else {
    version = r.string(path, m, 'version', { required: true });
    if (version !== undefined) {
      if (version.startsWith('v') && REVISION.test(version.slice(1))) {
        r.problems.warn(
          [...path, 'version'],
          `"${version}" has a leading v; Margo versions are SemVer without it`,
        );
      } else if (!REVISION.test(version)) {
        if (OCI_TAG.test(version)) {
          r.problems.warn(
            [...path, 'version'],
            `"${version}" is not SemVer 2.0 (e.g. 1.0.0); accepted as an OCI tag`,
          );
        } else {
          r.problems.error(
            [...path, 'version'],
            `"${version}" must be an OCI tag, SemVer 2.0 preferred (e.g. 1.2.0)`,
          );
          version = undefined;
        }
      }
    }
  }
  const catalog = r.requiredObject(path, m, 'catalog');
  const cat = catalog ? readCatalog(r, catalog) : undefined;
  if (name === undefined || version === undefined || !cat) return undefined;
  return { name, ...(description !== undefined ? { description } : {}), version, catalog: cat };
}

function readCatalog(r: Reader, c: Obj): CatalogInfo | undefined {
  const path: Path = ['metadata', 'catalog'];
  r.keys(path, c, ['application', 'author', 'organization'], { what: 'catalog' });
  const out: CatalogInfo = { organization: [] };
  if (c.application !== undefined && c.application !== null) {
    const ap = [...path, 'application'];
    const a = r.object(ap, c.application);
    if (a) {
      const keys = ['descriptionFile', 'icon', 'licenseFile', 'releaseNotes', 'site', 'tagline'] as const;
      r.keys(ap, a, [...keys, 'tags'], { what: 'catalog.application' });
      const app: NonNullable<CatalogInfo['application']> = {};
      for (const k of keys) {
        const s = r.string(ap, a, k);
        if (s !== undefined) app[k] = s;
      }
      const tags = r.list(ap, a, 'tags');
      if (tags) {
        app.tags = [];
        tags.forEach((t, i) => {
          if (typeof t === 'string') app.tags!.push(t);
          else r.problems.error([...ap, 'tags', i], `must be a string, not ${describe(t)}`);
        });
      }
      out.application = app;
    }
  }
  const authors = r.list(path, c, 'author');
  if (authors) {
    out.author = [];
    authors.forEach((a, i) => {
      const p = [...path, 'author', i];
      const o = r.object(p, a);
      if (!o) return;
      r.keys(p, o, ['name', 'email'], { what: 'an author' });
      const name = r.string(p, o, 'name', { name: true });
      const email = r.string(p, o, 'email', { pattern: EMAIL, hint: 'an e-mail address' });
      out.author!.push({
        ...(name !== undefined ? { name } : {}),
        ...(email !== undefined ? { email } : {}),
      });
    });
  }
  r.list(path, c, 'organization', { required: true, nonEmpty: true })?.forEach((o, i) => {
    const p = [...path, 'organization', i];
    const obj = r.object(p, o);
    if (!obj) return;
    r.keys(p, obj, ['name', 'site'], { what: 'an organization' });
    const name = r.string(p, obj, 'name', { required: true, name: true });
    const site = r.string(p, obj, 'site');
    if (name !== undefined) out.organization.push({ name, ...(site !== undefined ? { site } : {}) });
  });
  return out;
}

function readProfile(
  r: Reader,
  path: Path,
  v: unknown,
  sourceOf: (path: Path) => string | undefined,
): DeploymentProfile | undefined {
  const o = r.object(path, v);
  if (!o) return undefined;
  const ext = r.keys(
    path,
    o,
    ['type', 'id', 'description', 'components', 'deviceConstraints', 'requiredResources'],
    {
      extensions: true,
      what: 'a deployment profile',
    },
  );
  let type: DeploymentType | undefined;
  const rawType = r.string(path, o, 'type', { required: true });
  if (rawType === 'helm.v3') {
    r.problems.warn([...path, 'type'], '"helm.v3" is the older name of helm; read as helm');
    type = 'helm';
  } else if (rawType !== undefined) {
    if ((DEPLOYMENT_TYPES as readonly string[]).includes(rawType)) type = rawType as DeploymentType;
    else r.problems.error([...path, 'type'], `"${rawType}" must be one of ${DEPLOYMENT_TYPES.join(', ')}`);
  }
  const id = r.string(path, o, 'id', {
    required: true,
    pattern: PROFILE_ID,
    hint: 'letters, digits, dots, dashes and underscores',
  });
  const description = r.string(path, o, 'description');

  const components: Component[] = [];
  const names = new Map<string, number>();
  r.list(path, o, 'components', { required: true, nonEmpty: true })?.forEach((c, i) => {
    const comp = readComponent(r, [...path, 'components', i], c, type, sourceOf);
    if (!comp) return;
    const prev = names.get(comp.name);
    if (prev !== undefined) {
      r.problems.error(
        [...path, 'components', i, 'name'],
        `duplicate component name "${comp.name}" in this profile`,
      );
      return;
    }
    names.set(comp.name, i);
    components.push(comp);
  });

  const hasDc = o.deviceConstraints !== undefined && o.deviceConstraints !== null;
  const hasRr = o.requiredResources !== undefined && o.requiredResources !== null;
  let deviceConstraints;
  if (hasDc && hasRr) {
    r.problems.error(
      [...path, 'requiredResources'],
      'use deviceConstraints or the older requiredResources, not both',
      'key',
    );
  } else if (hasDc) {
    deviceConstraints = readDeviceConstraints(r, [...path, 'deviceConstraints'], o.deviceConstraints);
  } else if (hasRr) {
    r.problems.warn(
      [...path, 'requiredResources'],
      'requiredResources is the older form of deviceConstraints; converted',
      'key',
    );
    deviceConstraints = readRequiredResources(r, [...path, 'requiredResources'], o.requiredResources);
  }
  if (type === 'custom' && !hasDc && !hasRr) {
    r.problems.error(
      [...path, 'deviceConstraints'],
      'is required for a profile of type custom (devices are matched by it)',
    );
  }
  if (ext) checkOutpostExtension(r, path, ext[OUTPOST_EXTENSION_KEY], type);

  if (type === undefined || id === undefined) return undefined;
  const profile: DeploymentProfile = { type, id, components };
  if (description !== undefined) profile.description = description;
  if (deviceConstraints) profile.deviceConstraints = deviceConstraints;
  if (ext) profile.extensions = ext;
  return profile;
}

/** Our own extension (docs/architecture.md): `runtime: wasm | ocre` on custom profiles. */
function checkOutpostExtension(r: Reader, path: Path, v: unknown, type: DeploymentType | undefined): void {
  if (!isObject(v) || v.runtime === undefined) return;
  const p = [...path, OUTPOST_EXTENSION_KEY, 'runtime'];
  if (typeof v.runtime !== 'string' || !(OUTPOST_RUNTIMES as readonly string[]).includes(v.runtime)) {
    r.problems.error(p, `${JSON.stringify(v.runtime)} must be one of ${OUTPOST_RUNTIMES.join(', ')}`);
  } else if (type !== undefined && type !== 'custom') {
    r.problems.error(p, `runtime ${v.runtime} needs a profile of type custom, not ${type}`);
  }
}

function readComponent(
  r: Reader,
  path: Path,
  v: unknown,
  type: DeploymentType | undefined,
  sourceOf: (path: Path) => string | undefined,
): Component | undefined {
  const o = r.object(path, v);
  if (!o) return undefined;
  const ext = r.keys(path, o, ['name', 'properties'], { extensions: true, what: 'a component' });
  const name = r.string(path, o, 'name', {
    required: true,
    pattern: COMPONENT_NAME,
    hint: 'lowercase letters, digits and dashes',
  });
  const props = r.requiredObject(path, o, 'properties');
  const properties = props ? readProperties(r, [...path, 'properties'], props, type, sourceOf) : undefined;
  if (name === undefined || !properties) return undefined;
  return { name, properties, ...(ext ? { extensions: ext } : {}) };
}

function readProperties(
  r: Reader,
  path: Path,
  o: Obj,
  type: DeploymentType | undefined,
  sourceOf: (path: Path) => string | undefined,
): ComponentProperties {
  r.keys(path, o, ['repository', 'revision', 'wait', 'timeout', 'packageLocation', 'keyLocation'], {
    what: 'component properties',
  });
  const out: ComponentProperties = {};
  const packageLocation = r.string(path, o, 'packageLocation', { nonEmpty: true });
  const keyLocation = r.string(path, o, 'keyLocation', { nonEmpty: true });
  for (const key of ['packageLocation', 'keyLocation'] as const) {
    if (o[key] !== undefined) {
      r.problems.warn(
        [...path, key],
        `${key} is a pre-rc.3 field (compose components are now OCI artifacts: repository and revision); kept for display only`,
        'key',
      );
    }
  }
  const legacy = type === 'compose' && packageLocation !== undefined && o.repository === undefined;
  const repository = r.string(path, o, 'repository', {
    required: !legacy,
    pattern: OCI_REPOSITORY,
    hint: 'an oci:// reference, e.g. oci://registry.example.com/charts/app',
  });
  if (repository !== undefined) out.repository = repository;
  if (typeof o.revision === 'number') {
    const written = sourceOf([...path, 'revision']) ?? String(o.revision);
    r.problems.error([...path, 'revision'], `must be a string, not a number; quote it: "${written}"`);
  } else {
    const revision = r.string(path, o, 'revision', { required: !legacy });
    if (revision !== undefined) {
      if (REVISION.test(revision)) out.revision = revision;
      else if (revision.startsWith('v') && REVISION.test(revision.slice(1))) {
        r.problems.error(
          [...path, 'revision'],
          `"${revision}" must be SemVer without a leading v: "${revision.slice(1)}"`,
        );
      } else if (revision.includes('+') && REVISION.test(revision.replace('+', '_'))) {
        r.problems.error(
          [...path, 'revision'],
          `"${revision}": write build metadata after _ instead of + (OCI tags cannot hold +): "${revision.replace('+', '_')}"`,
        );
      } else {
        r.problems.error(
          [...path, 'revision'],
          `"${revision}" must be a SemVer 2.0 version (e.g. 1.2.3, 1.2.3-rc.1, 1.2.3_build.5)`,
        );
      }
    }
  }
  const wait = r.boolean(path, o, 'wait');
  if (wait !== undefined) out.wait = wait;
  const timeout = r.string(path, o, 'timeout', { pattern: TIMEOUT, hint: 'minutes and seconds, e.g. 8m30s' });
  if (timeout !== undefined) out.timeout = timeout;
  if (packageLocation !== undefined) out.packageLocation = packageLocation;
  if (keyLocation !== undefined) out.keyLocation = keyLocation;
  return out;
}
