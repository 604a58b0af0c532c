import { stringify } from 'yaml';
import type {
  ApplicationDescription,
  CatalogInfo,
  Component,
  ComponentProperties,
  Configuration,
  DeploymentProfile,
  DeviceConstraints,
  Extensions,
  Parameter,
  SchemaRule,
} from '../model/index.js';

/**
 * Renders a normalised ApplicationDescription as YAML in the newest shape (top-level `id`,
 * `deviceConstraints`), with a fixed key order, so the same description always gives the same text and
 * parsing the text gives back an equal description.
 */
export function renderApplicationDescription(desc: ApplicationDescription): string {
  return toYaml(applicationDescriptionObject(desc));
}

/** YAML text of plain data, deterministic: 2-space indent, no line folding, no anchors or aliases. */
export function toYaml(value: unknown): string {
  return stringify(value, {
    indent: 2,
    lineWidth: 0,
    minContentWidth: 0,
    aliasDuplicateObjects: false,
    version: '1.2',
  });
}

type Plain = Record<string, unknown>;

/** Copies the listed keys of `src` (when defined) in that order. */
export function pick(src: object, keys: readonly string[]): Plain {
  const out: Plain = {};
  for (const k of keys) {
    const v = (src as Plain)[k];
    if (v !== undefined) out[k] = v;
  }
  return out;
}

/** Extensions in a fixed (sorted) order, each value as given. */
export function extensionMembers(ext: Extensions | undefined): Plain {
  const out: Plain = {};
  if (!ext) return out;
  for (const k of Object.keys(ext).sort()) out[k] = ext[k];
  return out;
}

export function applicationDescriptionObject(d: ApplicationDescription): Plain {
  const out: Plain = pick(d, ['apiVersion', 'kind', 'id']);
  out.metadata = {
    ...pick(d.metadata, ['name', 'description', 'version']),
    catalog: catalogObject(d.metadata.catalog),
  };
  out.deploymentProfiles = d.deploymentProfiles.map(profileObject);
  const names = Object.keys(d.parameters);
  if (names.length > 0) {
    const params: Plain = {};
    for (const name of names) params[name] = parameterObject(d.parameters[name]!);
    out.parameters = params;
  }
  if (d.configuration) out.configuration = configurationObject(d.configuration);
  Object.assign(out, extensionMembers(d.extensions));
  return out;
}

function catalogObject(c: CatalogInfo): Plain {
  const out: Plain = {};
  if (c.application) {
    out.application = pick(c.application, [
      'descriptionFile',
      'icon',
      'licenseFile',
      'releaseNotes',
      'site',
      'tagline',
      'tags',
    ]);
  }
  if (c.author) out.author = c.author.map((a) => pick(a, ['name', 'email']));
  out.organization = c.organization.map((o) => pick(o, ['name', 'site']));
  return out;
}

function profileObject(p: DeploymentProfile): Plain {
  const out = pick(p, ['type', 'id', 'description']);
  out.components = p.components.map(componentObject);
  if (p.deviceConstraints) out.deviceConstraints = deviceConstraintsObject(p.deviceConstraints);
  Object.assign(out, extensionMembers(p.extensions));
  return out;
}

export function componentObject(c: Component): Plain {
  return {
    name: c.name,
    properties: propertiesObject(c.properties),
    ...extensionMembers(c.extensions),
  };
}

function propertiesObject(p: ComponentProperties): Plain {
  return pick(p, ['repository', 'revision', 'wait', 'timeout', 'packageLocation', 'keyLocation']);
}

/** deviceConstraints in a fixed key order (the selectors' own order is kept: it is the author's). */
export function deviceConstraintsObject(dc: DeviceConstraints): Plain {
  const out: Plain = {};
  if (dc.capacityRequirements) {
    const c = dc.capacityRequirements;
    const cap: Plain = {};
    if (c.cpu) cap.cpu = pick(c.cpu, ['cores', 'architectures']);
    Object.assign(cap, pick(c, ['memory', 'storage']));
    out.capacityRequirements = cap;
  }
  if (dc.eligibilityRules) out.eligibilityRules = dc.eligibilityRules;
  if (dc.requiredPeripherals) {
    out.requiredPeripherals = dc.requiredPeripherals.map((p) => pick(p, ['type', 'manufacturer', 'model']));
  }
  if (dc.requiredInterfaces) out.requiredInterfaces = dc.requiredInterfaces.map((i) => pick(i, ['type']));
  // Members we do not know (a deployment read tolerantly) are copied unchanged after ours.
  for (const k of Object.keys(dc)) if (!(k in out)) out[k] = (dc as Plain)[k];
  return out;
}

function parameterObject(p: Parameter): Plain {
  return {
    ...(p.value !== undefined ? { value: p.value } : {}),
    targets: p.targets.map((t) => ({ pointer: t.pointer, components: t.components })),
  };
}

function configurationObject(c: Configuration): Plain {
  return {
    sections: c.sections.map((s) => ({
      name: s.name,
      settings: s.settings.map((st) => pick(st, ['parameter', 'name', 'description', 'immutable', 'schema'])),
    })),
    schema: c.schema.map((s: SchemaRule) =>
      pick(s, [
        'name',
        'dataType',
        'allowEmpty',
        'minLength',
        'maxLength',
        'regexMatch',
        'minValue',
        'maxValue',
        'minPrecision',
        'maxPrecision',
        'multiselect',
        'options',
      ]),
    ),
  };
}
