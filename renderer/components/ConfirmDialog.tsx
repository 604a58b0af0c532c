import { useState, type ReactNode } from 'react';
import { Button, Dialog, DialogActions, DialogContent, DialogContentText, DialogTitle } from '@mui/material';
import { ProblemAlert } from './ProblemAlert.js';

/**
 * Asks before a destructive call and runs it; the dialog stays open with the server's error when the
 * call fails (e.g. `conflict`: the node still has deployments).
 */
export function ConfirmDialog({
  open,
  title,
  children,
  confirmLabel = 'Remove',
  onConfirm,
  onClose,
}: {
  open: boolean;
  title: string;
  children: ReactNode;
  confirmLabel?: string;
  onConfirm: () => Promise<unknown>;
  onClose: (done: boolean) => void;
}) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const close = (done: boolean) => {
    setError(null);
    onClose(done);
  };
  const confirm = async () => {
    setBusy(true);
    setError(null);
    try {
      await onConfirm();
      setBusy(false);
      close(true);
    } catch (err) {
      setBusy(false);
      setError(err);
    }
  };
  return (
    <Dialog
      open={open}
      onClose={() => !busy && close(false)}
      data-testid="confirm-dialog"
      maxWidth="xs"
      fullWidth
    >
      <DialogTitle>{title}</DialogTitle>
      <DialogContent>
        <DialogContentText component="div">{children}</DialogContentText>
        {error ? <ProblemAlert error={error} /> : null}
      </DialogContent>
      <DialogActions>
        <Button onClick={() => close(false)} disabled={busy}>
          Cancel
        </Button>
        <Button color="error" variant="contained" onClick={confirm} disabled={busy} data-testid="confirm">
          {confirmLabel}
        </Button>
      </DialogActions>
    </Dialog>
  );
}
