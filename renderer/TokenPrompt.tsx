import { useState } from 'react';
import { Alert, Box, Button, Stack, TextField, Typography } from '@mui/material';
import { apiMode, signIn, signInLocal } from './api.js';
import { ErrorAlert } from './components/ErrorAlert.js';

/**
 * Signing in: with an API token (its roles decide what the console shows), or, in the desktop app,
 * as this computer's administrator. `expired` says the previous credential stopped working.
 */
export function TokenPrompt({ expired = false }: { expired?: boolean }) {
  const [value, setValue] = useState('');
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);
  const run = (f: () => Promise<void>) => {
    setBusy(true);
    setError(undefined);
    f().catch((e: unknown) => {
      setError(e);
      setBusy(false);
    });
  };
  return (
    <Box sx={{ maxWidth: 560 }}>
      <Typography variant="h5" gutterBottom>
        Sign in to the console
      </Typography>
      {expired ? (
        <Alert severity="warning" sx={{ mb: 2 }} data-testid="signed-out">
          Your token no longer works (it was revoked or has expired). Sign in again.
        </Alert>
      ) : null}
      <Alert severity="info" sx={{ mb: 2 }}>
        Paste an API token: its roles decide what you can do here. An administrator makes one with{' '}
        <code>edgectl co add token --name &lt;you&gt; --role &lt;role&gt;</code>.
      </Alert>
      <TextField
        fullWidth
        label="API token"
        value={value}
        onChange={(e) => setValue(e.target.value)}
        type="password"
        slotProps={{ htmlInput: { 'data-testid': 'token-input' } as object }}
      />
      <Stack direction="row" spacing={1} sx={{ mt: 2 }}>
        <Button variant="contained" disabled={!value || busy} onClick={() => run(() => signIn(value.trim()))}>
          Sign in
        </Button>
        {apiMode === 'desktop' ? (
          <Button disabled={busy} onClick={() => run(signInLocal)} data-testid="sign-in-local">
            Sign in as this computer&apos;s administrator
          </Button>
        ) : null}
      </Stack>
      {error ? (
        <Box sx={{ mt: 2 }}>
          <ErrorAlert error={error} />
        </Box>
      ) : null}
    </Box>
  );
}
