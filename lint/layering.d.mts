export function layerOf(rel: string): { unit: string; env: string; imports: string[] } | undefined;
export function isTestPath(rel: string): boolean;
export function checkImport(rel: string, spec: string): string | undefined;
export const plugin: unknown;
