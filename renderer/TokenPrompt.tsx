import { useState } from 'react';
import { Alert, Box, Button, TextField, Typography } from '@mui/material';
import { setToken } from './api.js';

/** Shown in a browser opened without a token: the server prints the URL with its token at start. */
export function TokenPrompt() {
  const [value, setValue] = useState('');
  return (
    <Box sx={{ maxWidth: 520 }}>
      <Typography variant="h5" gutterBottom>
        Sign in to the console
      </Typography>
      <Alert severity="info" sx={{ mb: 2 }}>
        Open the URL that <code>edgectl server</code> printed (it carries the token), or paste an API token
        here. The token of a running server is in <code>&lt;home&gt;/run/server.json</code>.
      </Alert>
      <TextField
        fullWidth
        label="API token"
        value={value}
        onChange={(e) => setValue(e.target.value)}
        type="password"
      />
      <Button sx={{ mt: 2 }} variant="contained" disabled={!value} onClick={() => setToken(value.trim())}>
        Continue
      </Button>
    </Box>
  );
}
