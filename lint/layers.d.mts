export interface Layer {
  unit: string;
  env: string;
  entry?: boolean;
  imports: string[];
  deny?: string[];
  what: string;
}
export const LAYERS: Layer[];
export const ENVIRONMENTS: Record<string, { nodeBuiltins: boolean; packages?: string[]; deny?: string[] }>;
export const COMMON_LIB: string[];
export function layersMarkdown(): string;
