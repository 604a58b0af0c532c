import { memo } from 'react';
import {
  Autocomplete,
  Box,
  Checkbox,
  Chip,
  FormControlLabel,
  FormHelperText,
  ListItemText,
  MenuItem,
  Stack,
  Switch,
  TextField,
  Typography,
} from '@mui/material';
import type { FormSection, ParamField, RawValue } from './parameters.js';

/** The `Rule:` hint under an input: `integer, 1 to 60`, `length at most 20`, `one of a, b`. */
function ruleHint(f: ParamField): string {
  const r = f.rule;
  if (!r)
    return f.dataType ? `${f.dataType}${f.dataType.startsWith('array[') ? ' (a, b or JSON)' : ''}` : 'text';
  const parts: string[] = [r.dataType];
  const range = (lo?: number, hi?: number, what = '') =>
    lo !== undefined && hi !== undefined
      ? `${what}${lo} to ${hi}`
      : lo !== undefined
        ? `${what}at least ${lo}`
        : hi !== undefined
          ? `${what}at most ${hi}`
          : null;
  for (const p of [
    range(r.minLength, r.maxLength, 'length '),
    range(r.minValue, r.maxValue),
    range(r.minPrecision, r.maxPrecision, 'decimals '),
  ])
    if (p) parts.push(p);
  if (r.regexMatch) parts.push(`matches ${r.regexMatch}`);
  if (r.allowEmpty === true) parts.push('may be empty');
  return parts.join(', ');
}

const Field = memo(function Field({
  field,
  raw,
  problems,
  unused,
  locked,
  onChange,
}: {
  field: ParamField;
  raw: RawValue;
  problems: string[] | undefined;
  unused: boolean;
  locked: boolean;
  onChange: (parameter: string, raw: RawValue) => void;
}) {
  const error = problems !== undefined && problems.length > 0;
  const help = (
    <span data-testid="param-help">
      {error ? (
        <span data-testid="param-error">{problems.join('; ')}</span>
      ) : (
        <>
          {field.description ? `${field.description} · ` : ''}
          {ruleHint(field)}
          {unused ? ' · not used by this profile' : ''}
          {locked ? ' · immutable: it cannot change once deployed' : ''}
        </>
      )}
    </span>
  );
  const common = {
    'data-testid': 'param',
    'data-parameter': field.parameter,
    'data-kind': field.kind,
    'data-invalid': String(error),
  };
  const set = (v: RawValue) => onChange(field.parameter, v);
  const label = (
    <>
      {field.label}
      {field.label !== field.parameter ? (
        <Typography component="span" variant="caption" color="text.secondary">
          {' '}
          ({field.parameter})
        </Typography>
      ) : null}
    </>
  );

  switch (field.kind) {
    case 'switch':
      return (
        <Box {...common}>
          <FormControlLabel
            control={
              <Switch
                checked={raw === true}
                onChange={(e) => set(e.target.checked)}
                disabled={locked}
                slotProps={{ input: { 'aria-label': field.label, 'data-testid': 'param-input' } as object }}
              />
            }
            label={label}
          />
          <FormHelperText error={error}>{help}</FormHelperText>
        </Box>
      );
    case 'select':
      return (
        <TextField
          {...common}
          select
          fullWidth
          size="small"
          label={label}
          value={raw as string}
          onChange={(e) => set(e.target.value)}
          error={error}
          helperText={help}
          disabled={locked}
          slotProps={{ select: { SelectDisplayProps: { 'data-testid': 'param-input' } as object } }}
        >
          {field.rule?.allowEmpty === true || raw === '' ? (
            <MenuItem value="">
              <em>{field.rule?.allowEmpty === true ? 'empty' : 'choose'}</em>
            </MenuItem>
          ) : null}
          {field.options!.map((o) => (
            <MenuItem key={o.key} value={o.key} data-testid="param-option" data-value={o.key}>
              {String(o.value)}
            </MenuItem>
          ))}
        </TextField>
      );
    case 'multiselect':
      return (
        <TextField
          {...common}
          select
          fullWidth
          size="small"
          label={label}
          value={raw as string[]}
          onChange={(e) => set(e.target.value as unknown as string[])}
          error={error}
          helperText={help}
          disabled={locked}
          slotProps={{
            select: {
              multiple: true,
              renderValue: (v) => (
                <Stack direction="row" spacing={0.5} sx={{ flexWrap: 'wrap' }}>
                  {(v as string[]).map((k) => (
                    <Chip key={k} size="small" label={String(JSON.parse(k))} />
                  ))}
                </Stack>
              ),
              SelectDisplayProps: { 'data-testid': 'param-input' } as object,
            },
          }}
        >
          {field.options!.map((o) => (
            <MenuItem key={o.key} value={o.key} data-testid="param-option" data-value={o.key}>
              <Checkbox size="small" checked={(raw as string[]).includes(o.key)} />
              <ListItemText primary={String(o.value)} />
            </MenuItem>
          ))}
        </TextField>
      );
    case 'chips':
      return (
        <Autocomplete
          {...common}
          multiple
          freeSolo
          options={[] as string[]}
          value={raw as string[]}
          onChange={(_e, v) => set(v)}
          disabled={locked}
          renderInput={(params) => (
            <TextField
              {...params}
              size="small"
              label={label}
              error={error}
              helperText={help}
              placeholder="type a value, then Enter"
              slotProps={{
                ...params.slotProps,
                htmlInput: { ...params.slotProps.htmlInput, 'data-testid': 'param-input' },
              }}
            />
          )}
        />
      );
    default:
      return (
        <TextField
          {...common}
          fullWidth
          size="small"
          label={label}
          value={raw as string}
          onChange={(e) => set(e.target.value)}
          error={error}
          helperText={help}
          disabled={locked}
          slotProps={{
            htmlInput: {
              'data-testid': 'param-input',
              ...(field.kind === 'number' ? { inputMode: 'decimal' } : {}),
            },
          }}
        />
      );
  }
});

/**
 * The parameters of an application version as a form: one block per configuration section, one input
 * per setting (chosen by its schema data type), problems shown under each input as the operator types.
 */
export function ParametersForm({
  sections,
  raws,
  problems,
  onChange,
  unused,
  lockImmutable = false,
}: {
  sections: FormSection[];
  raws: Record<string, RawValue>;
  problems: Record<string, string[]>;
  onChange: (parameter: string, raw: RawValue) => void;
  /** Parameters the chosen profile does not use. */
  unused?: Set<string>;
  /** On an update: immutable settings are shown but cannot change. */
  lockImmutable?: boolean;
}) {
  if (sections.length === 0)
    return (
      <Typography variant="body2" color="text.secondary" data-testid="no-parameters">
        This application version takes no parameters.
      </Typography>
    );
  return (
    <Stack spacing={3} data-testid="parameters-form">
      {sections.map((s) => (
        <Box key={s.name} data-testid="param-section" data-name={s.name}>
          <Typography variant="subtitle1" sx={{ fontWeight: 600, mb: 1 }}>
            {s.name}
          </Typography>
          <Stack spacing={2}>
            {s.fields.map((f) => (
              <Field
                key={f.key}
                field={f}
                raw={raws[f.parameter] ?? ''}
                problems={problems[f.parameter]}
                unused={unused?.has(f.parameter) ?? false}
                locked={lockImmutable && f.immutable}
                onChange={onChange}
              />
            ))}
          </Stack>
        </Box>
      ))}
    </Stack>
  );
}
