import { Avatar } from '@mui/material';

/** The icon the server sent (a data: URI), or a letter avatar when there is none. */
export function EntityAvatar({
  icon,
  name,
  size = 48,
  testId,
}: {
  icon: string | null | undefined;
  name: string;
  size?: number;
  testId?: string;
}) {
  const letters =
    name
      .split(/[\s._-]+/)
      .filter(Boolean)
      .slice(0, 2)
      .map((w) => w[0]!.toUpperCase())
      .join('') || '?';
  return icon ? (
    <Avatar
      src={icon}
      alt={`${name} icon`}
      variant="rounded"
      data-testid={testId}
      data-placeholder="false"
      sx={{ width: size, height: size, bgcolor: 'transparent' }}
    />
  ) : (
    <Avatar
      variant="rounded"
      data-testid={testId}
      data-placeholder="true"
      aria-label={`${name} (no icon)`}
      // White on the primary colour: 4.5:1 or more in both themes (primary.light was 2.9:1).
      sx={{
        width: size,
        height: size,
        bgcolor: 'primary.main',
        color: 'primary.contrastText',
        fontSize: size / 2.6,
      }}
    >
      {letters}
    </Avatar>
  );
}
