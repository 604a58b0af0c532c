/** `#/deployments` (the list), `#/deployments/new[?app=<id>&version=<v>]` (the wizard), `#/deployments/<id>`. */
export type DeploymentRoute =
  { kind: 'list' } | { kind: 'new'; appId?: string; version?: string } | { kind: 'detail'; id: string };

export function parseDeploymentRoute(route: string): DeploymentRoute {
  const [path = '', query = ''] = route.split('?');
  const [, , id] = path.split('/');
  if (!id) return { kind: 'list' };
  if (id === 'new') {
    const q = new URLSearchParams(query);
    const appId = q.get('app');
    const version = q.get('version');
    return { kind: 'new', ...(appId ? { appId } : {}), ...(version ? { version } : {}) };
  }
  return { kind: 'detail', id: decodeURIComponent(id) };
}

export function deploymentPath(id: string): string {
  return `/deployments/${encodeURIComponent(id)}`;
}

/** The wizard, optionally starting from an application (and version), e.g. from the App Store. */
export function newDeploymentPath(appId?: string, version?: string): string {
  const q = new URLSearchParams();
  if (appId) q.set('app', appId);
  if (version) q.set('version', version);
  const s = q.toString();
  return `/deployments/new${s ? `?${s}` : ''}`;
}
