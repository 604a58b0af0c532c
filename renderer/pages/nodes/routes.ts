/** `/nodes/<name>`: the node page. */
export function nodePath(name: string): string {
  return `/nodes/${encodeURIComponent(name)}`;
}

/** The node a route names, or null (`/nodes/edge-1` -> `edge-1`). */
export function parseNodeRoute(path: string): string | null {
  const m = /^\/nodes\/([^/?]+)$/.exec(path);
  if (!m) return null;
  try {
    return decodeURIComponent(m[1]!);
  } catch {
    return null;
  }
}
