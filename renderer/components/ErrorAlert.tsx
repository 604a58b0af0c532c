import { Alert } from '@mui/material';
import { OutpostError } from '../../lib/errors/index.js';

/** Shows an API error by its code and message (never a stack trace). */
export function ErrorAlert({ error }: { error: unknown }) {
  const e = error instanceof OutpostError ? error : OutpostError.from(error);
  return (
    <Alert severity="error" data-testid="error" data-code={e.code}>
      {e.message} <small>({e.code})</small>
    </Alert>
  );
}
