/** Environment variable names the compose adapter accepts (POSIX-ish; what compose interpolation knows). */
export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export const DOTENV_BEGIN = '# --- outpost parameters (generated; later lines win) ---';

/**
 * Renders parameters as `.env` lines for podman-compose (python-dotenv) and docker compose. Values are
 * single-quoted, which both read literally (no `$` interpolation, no escapes); a value that cannot be
 * written that way (it holds a `'` or a line break) is left out of the file with a comment, and reaches
 * compose only through the process environment (see ComposeAdapter).
 */
export function renderDotenv(env: Record<string, string>): { text: string; omitted: string[] } {
  const lines = [DOTENV_BEGIN];
  const omitted: string[] = [];
  for (const [k, v] of Object.entries(env).sort(([a], [b]) => a.localeCompare(b))) {
    if (v.includes("'") || /[\r\n]/.test(v)) {
      omitted.push(k);
      lines.push(`# ${k}: passed through the process environment (its value cannot be quoted here)`);
    } else lines.push(`${k}='${v}'`);
  }
  return { text: `${lines.join('\n')}\n`, omitted };
}

/** An archive's own `.env` followed by the parameters, so that parameters override its defaults. */
export function mergeDotenv(
  existing: string | undefined,
  env: Record<string, string>,
): { text: string; omitted: string[] } {
  const rendered = renderDotenv(env);
  if (!existing) return rendered;
  const base = existing.endsWith('\n') ? existing : `${existing}\n`;
  return { text: base + rendered.text, omitted: rendered.omitted };
}
