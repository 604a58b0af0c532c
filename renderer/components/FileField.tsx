import { useRef } from 'react';
import { Button, IconButton, Stack, TextField, Typography } from '@mui/material';
import UploadFileIcon from '@mui/icons-material/UploadFile';
import DeleteIcon from '@mui/icons-material/Delete';
import type { PickedResource } from './files.js';

/** A button that opens the file chooser; shows the chosen file's name. */
export function FileField({
  label,
  accept,
  file,
  onFile,
  testId,
}: {
  label: string;
  accept?: string;
  file: File | null;
  onFile: (f: File | null) => void;
  testId: string;
}) {
  const input = useRef<HTMLInputElement>(null);
  return (
    <Stack direction="row" spacing={2} sx={{ alignItems: 'center' }}>
      <Button variant="outlined" startIcon={<UploadFileIcon />} onClick={() => input.current?.click()}>
        {label}
      </Button>
      <Typography
        variant="body2"
        color={file ? 'text.primary' : 'text.secondary'}
        data-testid={`${testId}-name`}
      >
        {file ? `${file.name} (${formatBytes(file.size)})` : 'no file chosen'}
      </Typography>
      <input
        ref={input}
        type="file"
        hidden
        accept={accept}
        data-testid={testId}
        onChange={(e) => {
          onFile(e.target.files?.[0] ?? null);
          e.target.value = '';
        }}
      />
    </Stack>
  );
}

/**
 * Files that travel with the main file (an icon, a description file). Each is sent under the relative
 * path the main file names it by; that path starts as the file name and can be edited.
 */
export function ResourceFilesField({
  value,
  onChange,
  testId,
  hint,
}: {
  value: PickedResource[];
  onChange: (v: PickedResource[]) => void;
  testId: string;
  hint: string;
}) {
  const input = useRef<HTMLInputElement>(null);
  return (
    <Stack spacing={1}>
      <Stack direction="row" spacing={2} sx={{ alignItems: 'center' }}>
        <Button variant="outlined" startIcon={<UploadFileIcon />} onClick={() => input.current?.click()}>
          Add resource files
        </Button>
        <Typography variant="caption" color="text.secondary">
          {hint}
        </Typography>
      </Stack>
      <input
        ref={input}
        type="file"
        hidden
        multiple
        data-testid={testId}
        onChange={(e) => {
          const files = [...(e.target.files ?? [])];
          onChange([...value, ...files.map((file) => ({ file, path: file.name }))]);
          e.target.value = '';
        }}
      />
      {value.map((r, i) => (
        <Stack key={i} direction="row" spacing={1} sx={{ alignItems: 'center' }}>
          <TextField
            size="small"
            label={`path of ${r.file.name} (${formatBytes(r.file.size)})`}
            value={r.path}
            onChange={(e) => onChange(value.map((x, j) => (j === i ? { ...x, path: e.target.value } : x)))}
            sx={{ flexGrow: 1 }}
          />
          <IconButton
            aria-label={`remove ${r.file.name}`}
            onClick={() => onChange(value.filter((_, j) => j !== i))}
          >
            <DeleteIcon />
          </IconButton>
        </Stack>
      ))}
    </Stack>
  );
}

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}
