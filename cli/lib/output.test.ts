import { describe, expect, it } from 'vitest';
import { escapeControls, keyValues, table } from './output.js';

describe('human output with hostile names', () => {
  it('escapes escape sequences, NUL and bidirectional overrides in table cells', () => {
    const out = table(
      ['NAME', 'STATE'],
      [
        ['\u001b[2J\u001b[31mred', 'ok'],
        ['nul\u0000here', 'ok'],
        ['evil\u202egnp.exe', 'ok'],
        ['two\nlines', 'ok'],
      ],
    );
    // eslint-disable-next-line no-control-regex -- looking for control characters is the point
    expect(out).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e]/);
    expect(out).toContain('\\x1b[2J\\x1b[31mred');
    expect(out).toContain('nul\\x00here');
    expect(out).toContain('evil\\u202egnp.exe');
    expect(out.split('\n')).toHaveLength(5); // a cell never breaks a row
    expect(keyValues([['name', '\u001b]0;title\u0007x']])).toBe('name:  \\x1b]0;title\\x07x');
  });

  it('keeps line breaks and tabs of free text, and nothing else', () => {
    expect(escapeControls('a\n\tb\u001bc\u2066d')).toBe('a\n\tb\\x1bc\\u2066d');
  });
});
