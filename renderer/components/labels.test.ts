import { describe, expect, it } from 'vitest';
import type { Node } from '../../lib/contract/index.js';
import { labelStrings, labelText, parseLabelText } from './labels.js';

const node = (labels: Record<string, string>, reported: Record<string, unknown> = {}) =>
  ({ labels, reportedLabels: reported }) as unknown as Node;

describe('parseLabelText', () => {
  it('reads key=value pairs separated by commas or new lines, trimming spaces', () => {
    expect(parseLabelText(' region=eu, line = 3\nexample.com/gpu=true ')).toEqual({
      region: 'eu',
      line: '3',
      'example.com/gpu': 'true',
    });
  });
  it('keeps what follows the first = as the value, and a bare key as an empty value', () => {
    expect(parseLabelText('expr=a=b, flag')).toEqual({ expr: 'a=b', flag: '' });
  });
  it('gives nothing for blank text', () => {
    expect(parseLabelText(' ,\n ')).toEqual({});
  });
});

describe('label strings of a node', () => {
  it('lists own and reported labels, the own label winning in the display text', () => {
    const n = node({ rack: 'r7', zone: 'North' }, { zone: 'south', 'outpost.dev/runtimes': ['wasm', 'oci'] });
    expect(labelText(n)).toBe('rack=r7 zone=North outpost.dev/runtimes=wasm,oci');
    expect(labelStrings(n)).toEqual(['rack=r7', 'zone=north', 'zone=south', 'outpost.dev/runtimes=wasm,oci']);
  });
});
