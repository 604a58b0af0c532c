import type { ReactNode } from 'react';
import { Button, Chip, Tooltip, type ButtonProps } from '@mui/material';
import LockIcon from '@mui/icons-material/LockOutlined';
import { describeRoles } from '../../lib/contract/index.js';
import { useSession, type ConsoleChannel } from '../session.js';

/**
 * Shows `children` (an action) only when the server says the signed-in roles allow `channel`;
 * otherwise, unless `quiet`, a small note naming the action and the role it needs, with the server's
 * reason as its tooltip.
 */
export function RoleGate({
  channel,
  action,
  children,
  quiet = false,
}: {
  channel: ConsoleChannel;
  /** The action in words, as its button says it ("Add site"). */
  action: string;
  children: ReactNode;
  quiet?: boolean;
}) {
  const { can, me } = useSession();
  const d = can(channel);
  if (d.allowed) return <>{children}</>;
  if (quiet || !me) return null;
  return (
    <Tooltip title={d.reason}>
      <Chip
        size="small"
        variant="outlined"
        icon={<LockIcon fontSize="small" />}
        label={`${action}: needs ${describeRoles(d.needs)}`}
        data-testid={`needs-role-${channel}`}
      />
    </Tooltip>
  );
}

/** One line for a page whose row actions are hidden: what the signed-in roles cannot do there, and why. */
export function RoleNote({ channels, what }: { channels: ConsoleChannel[]; what: string }) {
  const { can, me } = useSession();
  if (!me) return null;
  const denied = channels.map((c) => can(c)).filter((d) => !d.allowed);
  if (denied.length === 0) return null;
  const needs = [...new Set(denied.flatMap((d) => d.needs))];
  return (
    <Tooltip title={denied.map((d) => d.reason).join('; ')}>
      <Chip
        size="small"
        variant="outlined"
        icon={<LockIcon fontSize="small" />}
        label={`${what} needs ${describeRoles(needs)} (you have ${me.roles.join(', ')})`}
        data-testid="role-note"
      />
    </Tooltip>
  );
}

/**
 * A button for `channel` that stays in place when the signed-in roles may not call it: disabled, with
 * the server's reason (naming the role it needs) as its tooltip; `data-denied` marks it for tests.
 * `disabled` and `title` are the button's own reasons when it is allowed.
 */
export function GatedButton({
  channel,
  disabled,
  title,
  children,
  ...props
}: ButtonProps & { channel: ConsoleChannel; title?: string | undefined }) {
  const d = useSession().can(channel);
  const tip = d.allowed ? (title ?? '') : d.reason;
  return (
    <Tooltip title={tip} describeChild>
      <span style={{ display: 'inline-flex' }}>
        <Button
          {...props}
          disabled={!d.allowed || disabled === true}
          data-denied={d.allowed ? undefined : 'true'}
          data-needs={d.allowed ? undefined : d.needs.join(' ')}
        >
          {children}
        </Button>
      </span>
    </Tooltip>
  );
}
