import {
  Box,
  Chip,
  Stack,
  Table,
  TableBody,
  TableCell,
  TableHead,
  TableRow,
  Typography,
} from '@mui/material';
import { formatValue, ruleText, type Configuration, type Description } from './describe.js';

/** Parameters: name, default value, and where each value goes (pointer into which components). */
export function ParametersView({ parameters }: { parameters: Description['parameters'] }) {
  const entries = Object.entries(parameters);
  if (entries.length === 0)
    return (
      <Typography variant="body2" color="text.secondary">
        This application takes no parameters.
      </Typography>
    );
  return (
    <Table size="small">
      <TableHead>
        <TableRow>
          <TableCell>Name</TableCell>
          <TableCell>Default</TableCell>
          <TableCell>Targets (pointer → components)</TableCell>
        </TableRow>
      </TableHead>
      <TableBody>
        {entries.map(([name, p]) => (
          <TableRow key={name} data-testid="parameter" data-name={name}>
            <TableCell>
              <code>{name}</code>
            </TableCell>
            <TableCell data-testid="parameter-default">
              {p.value === undefined ? (
                <Typography variant="body2" color="text.secondary" component="span">
                  none
                </Typography>
              ) : (
                <code>{formatValue(p.value)}</code>
              )}
            </TableCell>
            <TableCell>
              {p.targets.map((t, i) => (
                <div key={i} data-testid="parameter-target">
                  <code>{t.pointer}</code> → {t.components.join(', ')}
                </div>
              ))}
            </TableCell>
          </TableRow>
        ))}
      </TableBody>
    </Table>
  );
}

/** Configuration sections: each setting with its parameter and the schema rule its values must follow. */
export function ConfigurationView({ configuration }: { configuration: Configuration | undefined }) {
  if (!configuration || configuration.sections.length === 0)
    return (
      <Typography variant="body2" color="text.secondary">
        No configuration sections: parameters keep their defaults unless a deployment sets them.
      </Typography>
    );
  const rules = new Map(configuration.schema.map((r) => [r.name, r]));
  return (
    <Stack spacing={2}>
      {configuration.sections.map((s) => (
        <Box key={s.name} data-testid="config-section" data-name={s.name}>
          <Typography variant="subtitle1" sx={{ fontWeight: 600 }}>
            {s.name}
          </Typography>
          <Table size="small">
            <TableHead>
              <TableRow>
                <TableCell>Setting</TableCell>
                <TableCell>Parameter</TableCell>
                <TableCell>Description</TableCell>
                <TableCell>Rule</TableCell>
              </TableRow>
            </TableHead>
            <TableBody>
              {s.settings.map((st) => {
                const rule = rules.get(st.schema);
                return (
                  <TableRow key={st.parameter + st.name} data-testid="setting" data-parameter={st.parameter}>
                    <TableCell>
                      {st.name}
                      {st.immutable ? (
                        <Chip
                          size="small"
                          label="immutable"
                          sx={{ ml: 1 }}
                          title="cannot change after deployment"
                        />
                      ) : null}
                    </TableCell>
                    <TableCell>
                      <code>{st.parameter}</code>
                    </TableCell>
                    <TableCell>{st.description ?? ''}</TableCell>
                    <TableCell data-testid="setting-rule">
                      <code>{st.schema}</code>: {rule ? ruleText(rule) : 'no such schema rule'}
                    </TableCell>
                  </TableRow>
                );
              })}
            </TableBody>
          </Table>
        </Box>
      ))}
    </Stack>
  );
}
