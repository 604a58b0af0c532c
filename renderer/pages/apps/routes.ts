/** `#/apps` (the store), `#/apps/<id>` (newest version), `#/apps/<id>/<version>`. */
export function parseAppRoute(route: string): { id: string; version?: string } | null {
  const [, , id, version] = route.split('/');
  if (!id) return null;
  return { id: decodeURIComponent(id), ...(version ? { version: decodeURIComponent(version) } : {}) };
}

export function appPath(id: string, version?: string): string {
  return `/apps/${encodeURIComponent(id)}${version ? `/${encodeURIComponent(version)}` : ''}`;
}
