import { Alert, Box, Typography } from '@mui/material';

/** A page whose feature is not built yet: says what will be there. */
export function ComingPage({ title, text }: { title: string; text: string }) {
  return (
    <Box>
      <Typography variant="h5" component="h1" gutterBottom>
        {title}
      </Typography>
      <Alert severity="info">{text}</Alert>
    </Box>
  );
}
