import { useState } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import {
  Button,
  Chip,
  IconButton,
  Link,
  Stack,
  Table,
  TableBody,
  TableCell,
  TableHead,
  TableRow,
  Tooltip,
  Typography,
} from '@mui/material';
import DeleteIcon from '@mui/icons-material/Delete';
import RouterIcon from '@mui/icons-material/Router';
import { describeAsOf, describeSiteReach, type Site, type SiteLink } from '../../../lib/contract/index.js';
import { useTick } from '../../components/ticker.js';
import { api } from '../../api.js';
import { LabelChips } from '../../components/LabelChips.js';
import { ConfirmDialog } from '../../components/ConfirmDialog.js';
import { SinceText } from './SinceText.js';
import { AddOrchestratorDialog } from './AddOrchestratorDialog.js';
import { RoleGate } from '../../components/RoleGate.js';
import { useSession } from '../../session.js';
import { linkDisplay } from './link.js';
import { useNow } from '../../live.js';

/** The links as the server answered them, and when that answer arrived (browser clock). */
export interface SiteLinks {
  links: SiteLink[];
  serverNow: number;
  receivedAt: number;
}

/** A site's link from evidence (ADR 0165): state, since when, backlog; the evidence in the tooltip. */
function LinkCell({ link, links }: { link: SiteLink; links: SiteLinks }) {
  const now = useNow();
  const d = linkDisplay(link, links.serverNow, now - links.receivedAt);
  return (
    <Tooltip title={d.detail}>
      <Stack direction="row" spacing={1} sx={{ alignItems: 'center' }}>
        <Chip
          size="small"
          color={d.color}
          variant={link.link === 'local' ? 'outlined' : 'filled'}
          label={d.label}
          data-testid="site-link"
          data-link={link.link}
        />
        <Typography variant="caption" color="text.secondary" data-testid="site-link-detail">
          {[d.since, d.backlog].filter(Boolean).join(' · ')}
        </Typography>
      </Stack>
    </Tooltip>
  );
}

/** Sites: who serves them (the embedded LO or a remote one, with its last contact), nodes, labels. */
export function SitesTable({
  sites,
  selected,
  onSelect,
  links,
}: {
  sites: Site[];
  selected: string;
  onSelect: (siteId: string) => void;
  /** Site links (admin only); undefined when this token may not see them. */
  links?: SiteLinks | undefined;
}) {
  const qc = useQueryClient();
  const now = useTick();
  const [removing, setRemoving] = useState<Site | null>(null);
  const [lo, setLo] = useState<Site | null>(null);
  const mayAddLo = useSession().can('sites.addOrchestrator').allowed;
  if (sites.length === 0)
    return (
      <Typography variant="body2" color="text.secondary" data-testid="no-sites">
        No site yet.
      </Typography>
    );
  return (
    <>
      <Table size="small" data-testid="sites-table">
        <TableHead>
          <TableRow>
            <TableCell>Name</TableCell>
            <TableCell>Id</TableCell>
            <TableCell>Served by</TableCell>
            <TableCell>Reached</TableCell>
            {links ? <TableCell>Link</TableCell> : null}
            <TableCell align="right">Nodes</TableCell>
            <TableCell>Labels</TableCell>
            <TableCell align="right">Actions</TableCell>
          </TableRow>
        </TableHead>
        <TableBody>
          {sites.map((s) => (
            <TableRow
              key={s.id}
              data-testid="site-row"
              data-site-id={s.id}
              selected={s.id === selected}
              hover
            >
              <TableCell>
                <Typography variant="body2" sx={{ fontWeight: 600 }} data-testid="site-name">
                  {s.name}
                </Typography>
                {s.description ? (
                  <Typography variant="caption" color="text.secondary">
                    {s.description}
                  </Typography>
                ) : null}
              </TableCell>
              <TableCell>
                <code>{s.id}</code>
              </TableCell>
              <TableCell data-testid="site-served-by" data-value={s.servedBy}>
                <Stack direction="row" spacing={1} sx={{ alignItems: 'center' }}>
                  <Chip
                    size="small"
                    variant={s.servedBy === 'embedded' ? 'filled' : 'outlined'}
                    label={s.servedBy === 'embedded' ? 'embedded LO' : 'remote LO'}
                  />
                  {s.servedBy === 'remote' ? (
                    s.orchestrator ? (
                      <Typography variant="caption" color="text.secondary">
                        {s.orchestrator.name}
                        {s.orchestrator.mmiUrl ? ` · ${s.orchestrator.mmiUrl}` : ''} · seen{' '}
                        <SinceText at={s.orchestrator.lastSeenAt} />
                      </Typography>
                    ) : links?.links.some((l) => l.siteId === s.id) ? (
                      // Linked over NATS as the README says (co link-site): the link column tells its health.
                      <Typography variant="caption" color="text.secondary" data-testid="site-linked">
                        linked over NATS
                      </Typography>
                    ) : (
                      <Typography variant="caption" color="warning.main">
                        no LO registered
                      </Typography>
                    )
                  ) : null}
                </Stack>
              </TableCell>
              <TableCell data-testid="site-reach" data-value={s.airGapped ? 'air-gapped' : 'connected'}>
                <Tooltip title={s.bundles?.asOf ? (describeAsOf(s.bundles.asOf, now) ?? '') : ''}>
                  <Chip
                    size="small"
                    variant="outlined"
                    color={s.airGapped ? 'warning' : 'default'}
                    label={describeSiteReach(s, now)}
                  />
                </Tooltip>
              </TableCell>
              {links ? (
                <TableCell>
                  {(() => {
                    const l = links.links.find((x) => x.siteId === s.id);
                    return l ? (
                      <LinkCell link={l} links={links} />
                    ) : (
                      <Typography variant="caption" color="text.secondary">
                        {s.servedBy === 'remote' ? 'not linked' : '-'}
                      </Typography>
                    );
                  })()}
                </TableCell>
              ) : null}
              <TableCell align="right">
                <Link
                  component="button"
                  variant="body2"
                  onClick={() => onSelect(s.id === selected ? '' : s.id)}
                  data-testid="site-node-count"
                  data-value={s.nodeCount}
                >
                  {s.nodeCount}
                </Link>
              </TableCell>
              <TableCell>
                <LabelChips labels={s.labels} testId="site-label" />
              </TableCell>
              <TableCell align="right" sx={{ whiteSpace: 'nowrap' }}>
                {s.servedBy === 'remote' && mayAddLo ? (
                  <Tooltip
                    title={
                      s.orchestrator ? 'replace the registered LO' : 'register the LO that serves this site'
                    }
                  >
                    <Button size="small" startIcon={<RouterIcon />} onClick={() => setLo(s)}>
                      {s.orchestrator ? 'LO' : 'Register LO'}
                    </Button>
                  </Tooltip>
                ) : null}
                <RoleGate channel="sites.remove" action="Remove site" quiet>
                  <Tooltip title="remove site">
                    <IconButton
                      size="small"
                      aria-label={`remove site ${s.id}`}
                      onClick={() => setRemoving(s)}
                    >
                      <DeleteIcon fontSize="small" />
                    </IconButton>
                  </Tooltip>
                </RoleGate>
              </TableCell>
            </TableRow>
          ))}
        </TableBody>
      </Table>
      <ConfirmDialog
        open={removing !== null}
        title={`Remove site ${removing?.name ?? ''}?`}
        onClose={() => setRemoving(null)}
        onConfirm={async () => {
          await api.sites.remove({ id: removing!.id });
          if (selected === removing!.id) onSelect('');
          await qc.invalidateQueries({ queryKey: ['sites'] });
        }}
      >
        A site that still has nodes cannot be removed.
      </ConfirmDialog>
      <AddOrchestratorDialog site={lo} onClose={() => setLo(null)} />
    </>
  );
}
