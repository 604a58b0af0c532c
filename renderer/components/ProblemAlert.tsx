import { Alert, AlertTitle, Box } from '@mui/material';
import { OutpostError } from '../../lib/errors/index.js';

/**
 * An API error as the server sent it: its code, its message and, when the server refused input, every
 * field problem with its file, line and column. Never a stack trace.
 */
export function ProblemAlert({ error, title }: { error: unknown; title?: string }) {
  const e = error instanceof OutpostError ? error : OutpostError.from(error);
  const problems = e.errors ?? [];
  return (
    <Alert severity="error" data-testid="error" data-code={e.code} sx={{ overflowWrap: 'anywhere' }}>
      {title ? <AlertTitle>{title}</AlertTitle> : null}
      <span data-testid="error-message">{e.message}</span> <small>({e.code})</small>
      {problems.length > 0 ? (
        <Box component="ul" sx={{ m: 0, mt: 1, pl: 2 }}>
          {problems.map((p, i) => (
            <li
              key={i}
              data-testid="field-error"
              data-field={p.field}
              data-line={p.line ?? ''}
              data-column={p.column ?? ''}
            >
              <code>{p.field}</code>: {p.message}
              {p.line !== undefined ? (
                <small>
                  {' '}
                  ({p.file ? `${p.file}, ` : ''}line {p.line}
                  {p.column !== undefined ? `, column ${p.column}` : ''})
                </small>
              ) : null}
            </li>
          ))}
        </Box>
      ) : null}
    </Alert>
  );
}
