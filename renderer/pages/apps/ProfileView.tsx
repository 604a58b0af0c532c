import type { ReactNode } from 'react';
import {
  Box,
  Card,
  CardContent,
  Chip,
  Stack,
  Table,
  TableBody,
  TableCell,
  TableHead,
  TableRow,
  Typography,
} from '@mui/material';
import {
  capacityLines,
  expressionText,
  type Constraints,
  type Expression,
  type Profile,
  type Rule,
} from './describe.js';

const OUTPOST_EXTENSIONS = 'x-outpost-extensions';

/** One deployment profile: type, runtime, components in install order, and device constraints. */
export function ProfileView({ profile: p }: { profile: Profile }) {
  const ours = p.extensions?.[OUTPOST_EXTENSIONS] as { runtime?: unknown } | undefined;
  const runtime = typeof ours?.runtime === 'string' ? ours.runtime : null;
  const others = Object.entries(p.extensions ?? {});
  return (
    <Card variant="outlined" data-testid="profile" data-profile-id={p.id}>
      <CardContent>
        <Stack direction="row" spacing={1} sx={{ alignItems: 'center', mb: 1 }}>
          <Typography variant="subtitle1" sx={{ fontWeight: 600 }}>
            {p.id}
          </Typography>
          <Chip size="small" color="secondary" label={p.type} data-testid="profile-type" />
          {runtime ? (
            <Chip
              size="small"
              variant="outlined"
              label={`runtime ${runtime}`}
              data-testid="profile-runtime"
            />
          ) : null}
        </Stack>
        {p.description ? (
          <Typography variant="body2" color="text.secondary" gutterBottom>
            {p.description}
          </Typography>
        ) : null}
        <Typography variant="overline" color="text.secondary">
          Components (installed in this order)
        </Typography>
        <Table size="small">
          <TableHead>
            <TableRow>
              <TableCell>Name</TableCell>
              <TableCell>Repository</TableCell>
              <TableCell>Revision</TableCell>
              <TableCell>Wait</TableCell>
              <TableCell>Timeout</TableCell>
            </TableRow>
          </TableHead>
          <TableBody>
            {p.components.map((c) => (
              <TableRow key={c.name} data-testid="component" data-name={c.name}>
                <TableCell>{c.name}</TableCell>
                <TableCell sx={{ overflowWrap: 'anywhere' }}>
                  {c.properties.repository ? (
                    <code>{c.properties.repository}</code>
                  ) : c.properties.packageLocation ? (
                    <span title="older compose form (packageLocation)">
                      <code>{c.properties.packageLocation}</code> <small>(legacy package location)</small>
                    </span>
                  ) : (
                    '-'
                  )}
                </TableCell>
                <TableCell>{c.properties.revision ?? '-'}</TableCell>
                <TableCell>{c.properties.wait === false ? 'no' : 'yes'}</TableCell>
                <TableCell>{c.properties.timeout ?? '-'}</TableCell>
              </TableRow>
            ))}
          </TableBody>
        </Table>
        <Typography variant="overline" color="text.secondary" component="div" sx={{ mt: 2 }}>
          Device constraints
        </Typography>
        <ConstraintsView constraints={p.deviceConstraints} />
        {others.length > 0 ? (
          <>
            <Typography variant="overline" color="text.secondary" component="div" sx={{ mt: 2 }}>
              Extensions (copied to the device)
            </Typography>
            <Box
              component="pre"
              sx={{ m: 0, fontSize: 12, bgcolor: 'grey.100', p: 1, borderRadius: 1, overflow: 'auto' }}
            >
              {JSON.stringify(Object.fromEntries(others), null, 2)}
            </Box>
          </>
        ) : null}
      </CardContent>
    </Card>
  );
}

/** Device constraints in words: capacity, then the eligibility rules (any may match), then legacy needs. */
export function ConstraintsView({ constraints: c }: { constraints: Constraints | undefined }) {
  if (!c || Object.keys(c).length === 0)
    return (
      <Typography variant="body2" color="text.secondary" data-testid="no-constraints">
        None.
      </Typography>
    );
  const capacity = capacityLines(c);
  const rules = c.eligibilityRules ?? [];
  return (
    <Stack spacing={1} data-testid="constraints">
      {capacity.length > 0 ? (
        <Box>
          <Typography variant="body2" sx={{ fontWeight: 600 }}>
            Capacity
          </Typography>
          <Box component="ul" sx={{ m: 0, pl: 3 }}>
            {capacity.map((t) => (
              <li key={t} data-testid="capacity">
                <Typography variant="body2">{t}</Typography>
              </li>
            ))}
          </Box>
        </Box>
      ) : null}
      {rules.length > 0 ? (
        <Box>
          <Typography variant="body2" sx={{ fontWeight: 600 }}>
            Eligibility: a node qualifies when it matches{' '}
            {rules.length === 1 ? 'this rule' : 'any one of these rules'}
          </Typography>
          <Box component="ol" sx={{ m: 0, pl: 3 }}>
            {rules.map((r, i) => (
              <li key={i} data-testid="eligibility-rule">
                <RuleView rule={r} />
              </li>
            ))}
          </Box>
        </Box>
      ) : null}
      {c.requiredPeripherals?.length ? (
        <Typography variant="body2" data-testid="required-peripherals">
          <b>Peripherals required:</b>{' '}
          {c.requiredPeripherals
            .map((p) =>
              [p.type, [p.manufacturer, p.model].filter(Boolean).join(' ')].filter(Boolean).join(' by '),
            )
            .join('; ')}
        </Typography>
      ) : null}
      {c.requiredInterfaces?.length ? (
        <Typography variant="body2" data-testid="required-interfaces">
          <b>Interfaces required:</b> {c.requiredInterfaces.map((x) => x.type).join(', ')}
        </Typography>
      ) : null}
    </Stack>
  );
}

function RuleView({ rule }: { rule: Rule }) {
  const parts: ReactNode[] = [];
  if (rule.propertySelector)
    parts.push(
      <SelectorView key="p" what="properties" expressions={rule.propertySelector.matchExpressions} />,
    );
  if (rule.labelSelector)
    parts.push(<SelectorView key="l" what="labels" expressions={rule.labelSelector.matchExpressions} />);
  return <Stack spacing={0.5}>{parts.length > 1 ? [parts[0], <i key="and">and</i>, parts[1]] : parts}</Stack>;
}

function SelectorView({ what, expressions }: { what: 'properties' | 'labels'; expressions: Expression[] }) {
  return (
    <Typography variant="body2" component="div">
      {what === 'properties' ? 'properties' : 'labels'} where{' '}
      {expressions.map((e, i) => (
        <span key={i}>
          {i > 0 ? <i> and </i> : null}
          <code data-testid="expression">{expressionText(e)}</code>
        </span>
      ))}
    </Typography>
  );
}
