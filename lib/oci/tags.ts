import { ociError } from './errors.js';
import { formatReference, type Reference } from './reference.js';
import type { Session } from './session.js';
import { readLimited } from './transport.js';

const MAX_PAGES = 1000;

/** Lists a repository's tags (`/v2/<name>/tags/list`), following `Link: <…>; rel="next"` pagination. */
export async function listTags(
  session: Session,
  repo: Pick<Reference, 'registry' | 'repository'>,
  options: { signal?: AbortSignal; pageSize?: number } = {},
): Promise<string[]> {
  const ref: Reference = { registry: repo.registry, repository: repo.repository };
  const what = formatReference(ref);
  const tags: string[] = [];
  let next: string | undefined = `tags/list?n=${options.pageSize ?? 1000}`;
  for (let page = 0; next && page < MAX_PAGES; page++) {
    const res = await session.request(ref, {
      method: 'GET',
      path: next,
      access: 'pull',
      signal: options.signal,
      what,
    });
    if (!res.ok) return session.fail(res, what, 'repository');
    const body = await readLimited(res, 16 * 1024 * 1024, `${what}: tags`);
    let parsed: { tags?: unknown };
    try {
      parsed = JSON.parse(body.toString('utf8')) as typeof parsed;
    } catch {
      throw ociError('oci/registry-error', `${what}: the tag list is not JSON`);
    }
    if (parsed.tags !== null && parsed.tags !== undefined && !Array.isArray(parsed.tags))
      throw ociError('oci/registry-error', `${what}: the tag list has no "tags" array`);
    for (const t of (parsed.tags as unknown[] | null) ?? []) if (typeof t === 'string') tags.push(t);
    const link = res.headers.get('link');
    const m = link ? /<([^>]+)>\s*;\s*rel="?next"?/.exec(link) : null;
    next = m ? m[1] : undefined;
  }
  return tags;
}
