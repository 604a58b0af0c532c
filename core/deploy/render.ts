/**
 * Rendering the same revision for thousands of nodes: the YAMLs differ only in `metadata.deviceId`.
 * The deployment is rendered once with a sentinel device id; a node whose id the renderer would write as
 * the same plain scalar gets the sentinel replaced, everything else is rendered in full. The result is
 * byte-identical to rendering each node on its own (a property test checks it).
 */
const SENTINEL = 'outpost-device-id-sentinel-7f3a';

/** Ids a YAML emitter writes plain and unchanged: lowercase slug, not a number, not a YAML keyword. */
const PLAIN = /^[a-z][a-z0-9-]*$/;
const KEYWORDS = new Set(['y', 'n', 'yes', 'no', 'on', 'off', 'true', 'false', 'null']);

export function deviceRenderer(render: (deviceId: string) => string): (deviceId: string) => string {
  let template: { before: string; after: string } | null | undefined;
  return (deviceId) => {
    if (template === undefined) {
      const text = render(SENTINEL);
      const at = text.indexOf(SENTINEL);
      template =
        at >= 0 && text.indexOf(SENTINEL, at + 1) < 0
          ? { before: text.slice(0, at), after: text.slice(at + SENTINEL.length) }
          : null;
    }
    if (template && PLAIN.test(deviceId) && !KEYWORDS.has(deviceId) && deviceId.length <= 63) {
      return template.before + deviceId + template.after;
    }
    return render(deviceId);
  };
}
