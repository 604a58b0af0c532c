import { Suspense, lazy, useEffect, useRef, useState, type ReactNode } from 'react';
import type { QueryClient } from '@tanstack/react-query';
import {
  AppBar,
  Box,
  Chip,
  IconButton,
  LinearProgress,
  Link,
  List,
  ListItemButton,
  ListItemIcon,
  ListItemText,
  Button,
  Paper,
  Toolbar,
  Typography,
} from '@mui/material';
import DarkModeIcon from '@mui/icons-material/DarkMode';
import LightModeIcon from '@mui/icons-material/LightMode';
import DashboardIcon from '@mui/icons-material/SpaceDashboard';
import StorefrontIcon from '@mui/icons-material/Storefront';
import MemoryIcon from '@mui/icons-material/Memory';
import LanIcon from '@mui/icons-material/Lan';
import RocketLaunchIcon from '@mui/icons-material/RocketLaunch';
import UsbIcon from '@mui/icons-material/Usb';
import HistoryIcon from '@mui/icons-material/History';
import SettingsIcon from '@mui/icons-material/Settings';
import { useRoute, routePath } from './router.js';
import type { ThemeMode } from './theme.js';
import { parseNodeRoute } from './pages/nodes/routes.js';
import { connectLiveUpdates } from './live.js';
import { apiHasToken, apiMode, signOut } from './api.js';
import { useSession } from './session.js';
import { DashboardPage } from './pages/dashboard/DashboardPage.js';
import { ErrorAlert } from './components/ErrorAlert.js';
import { LazyTooltip } from './components/LazyTooltip.js';

interface NavItem {
  path: string;
  label: string;
  icon: ReactNode;
  render: () => ReactNode;
}

// Signing in is its own chunk (its text field and form controls): a console opened with a credential
// never needs it.
const TokenPrompt = lazy(() => import('./TokenPrompt.js').then((m) => ({ default: m.TokenPrompt })));
const NodePage = lazy(() => import('./pages/nodes/NodePage.js').then((m) => ({ default: m.NodePage })));
const AuditPage = lazy(() => import('./pages/audit/AuditPage.js').then((m) => ({ default: m.AuditPage })));
const SettingsPage = lazy(() =>
  import('./pages/settings/SettingsPage.js').then((m) => ({ default: m.SettingsPage })),
);
const AppStorePage = lazy(() =>
  import('./pages/apps/AppStorePage.js').then((m) => ({ default: m.AppStorePage })),
);
const DeviceStorePage = lazy(() =>
  import('./pages/devices/DeviceStorePage.js').then((m) => ({ default: m.DeviceStorePage })),
);
const SitesPage = lazy(() => import('./pages/sites/SitesPage.js').then((m) => ({ default: m.SitesPage })));
const DeploymentsPage = lazy(() =>
  import('./pages/deployments/DeploymentsPage.js').then((m) => ({ default: m.DeploymentsPage })),
);
const AirGapPage = lazy(() =>
  import('./pages/airgap/AirGapPage.js').then((m) => ({ default: m.AirGapPage })),
);
export const NAV: NavItem[] = [
  { path: '/', label: 'Dashboard', icon: <DashboardIcon />, render: () => <DashboardPage /> },
  { path: '/apps', label: 'App Store', icon: <StorefrontIcon />, render: () => <AppStorePage /> },
  { path: '/devices', label: 'Device Store', icon: <MemoryIcon />, render: () => <DeviceStorePage /> },
  { path: '/sites', label: 'Sites & Nodes', icon: <LanIcon />, render: () => <SitesPage /> },
  {
    path: '/deployments',
    label: 'Deployments',
    icon: <RocketLaunchIcon />,
    render: () => <DeploymentsPage />,
  },
  {
    path: '/airgap',
    label: 'Air gap',
    icon: <UsbIcon />,
    render: () => <AirGapPage />,
  },
  { path: '/audit', label: 'Audit', icon: <HistoryIcon />, render: () => <AuditPage /> },
  { path: '/settings', label: 'Settings', icon: <SettingsIcon />, render: () => <SettingsPage /> },
];

const DRAWER = 220;

export function App({
  queryClient,
  themeMode,
  onToggleTheme,
}: {
  queryClient: QueryClient;
  themeMode: ThemeMode;
  onToggleTheme: () => void;
}) {
  const route = useRoute();
  const path = routePath(route);
  const [live, setLive] = useState<'live' | 'reconnecting'>('reconnecting');
  const session = useSession();
  const signedIn = session.me !== undefined;
  const mainRef = useRef<HTMLElement>(null);
  useEffect(() => (signedIn ? connectLiveUpdates(queryClient, setLive) : undefined), [queryClient, signedIn]);
  const node = parseNodeRoute(path);
  const current = node
    ? NAV.find((n) => n.path === '/sites')!
    : (NAV.find((n) => n.path === path) ??
      NAV.find((n) => n.path !== '/' && path.startsWith(n.path + '/')) ??
      NAV[0]!);
  const title = node ? `Node ${node}` : current.label;
  // The document title names the page (screen readers announce it, the tab and window show it).
  useEffect(() => {
    document.title = `${title} · Outpost`;
  }, [title]);

  return (
    <Box sx={{ display: 'flex', minHeight: '100vh' }}>
      <Link
        href="#"
        onClick={(e) => {
          e.preventDefault();
          mainRef.current?.focus();
        }}
        data-testid="skip-link"
        sx={{
          position: 'absolute',
          left: 8,
          top: -48,
          zIndex: (t) => t.zIndex.tooltip + 1,
          p: 1,
          bgcolor: 'background.paper',
          '&:focus': { top: 8 },
        }}
      >
        Skip to content
      </Link>
      <AppBar position="fixed" sx={{ zIndex: (t) => t.zIndex.drawer + 1 }}>
        <Toolbar variant="dense">
          <Typography variant="h6" component="div" sx={{ flexGrow: 1 }}>
            Outpost
          </Typography>
          <Chip
            size="small"
            data-testid="live-indicator"
            label={live === 'live' ? 'live' : 'reconnecting'}
            variant="outlined"
            sx={{ color: 'inherit', borderColor: 'currentColor', mr: 1 }}
          />
          <Chip
            size="small"
            label={apiMode === 'desktop' ? 'desktop' : 'web portal'}
            sx={{ color: 'inherit', mr: 1 }}
            variant="outlined"
          />
          {session.me ? (
            <>
              <LazyTooltip
                title={`${session.me.id} in tenant ${session.me.tenantId}${
                  session.me.expiresAt ? `, until ${new Date(session.me.expiresAt).toLocaleString()}` : ''
                }`}
              >
                <Chip
                  size="small"
                  variant="outlined"
                  data-testid="signed-in-as"
                  label={`${session.me.name} · ${session.me.roles.join(', ')}`}
                  sx={{ color: 'inherit', borderColor: 'currentColor', mr: 1 }}
                />
              </LazyTooltip>
              <Button size="small" color="inherit" onClick={() => void signOut()}>
                Sign out
              </Button>
            </>
          ) : null}
          <LazyTooltip title={themeMode === 'dark' ? 'Switch to light mode' : 'Switch to dark mode'}>
            <IconButton
              color="inherit"
              onClick={onToggleTheme}
              aria-label={themeMode === 'dark' ? 'Switch to light mode' : 'Switch to dark mode'}
              data-testid="theme-toggle"
              data-mode={themeMode}
            >
              {themeMode === 'dark' ? <LightModeIcon /> : <DarkModeIcon />}
            </IconButton>
          </LazyTooltip>
        </Toolbar>
      </AppBar>
      {/* The side menu: what MUI's permanent Drawer draws (a fixed paper beside a spacer), without the
          Drawer component, which brings the modal, focus trap and slide transition of its other variants
          into the first script (ADR 0234). */}
      <Box sx={{ width: DRAWER, flexShrink: 0 }} />
      <Paper
        square
        elevation={0}
        sx={{
          position: 'fixed',
          top: 0,
          left: 0,
          bottom: 0,
          width: DRAWER,
          boxSizing: 'border-box',
          overflowY: 'auto',
          borderRight: 1,
          borderColor: 'divider',
          zIndex: (t) => t.zIndex.drawer,
        }}
      >
        <Toolbar variant="dense" />
        <List component="nav" aria-label="main navigation">
          {NAV.map((n) => (
            <ListItemButton
              key={n.path}
              selected={n === current}
              component="a"
              href={`#${n.path}`}
              aria-current={n === current ? 'page' : undefined}
            >
              <ListItemIcon sx={{ minWidth: 36 }}>{n.icon}</ListItemIcon>
              <ListItemText primary={n.label} />
            </ListItemButton>
          ))}
        </List>
      </Paper>
      <Box
        component="main"
        id="main"
        ref={mainRef}
        tabIndex={-1}
        sx={{ flexGrow: 1, p: 3, minWidth: 0, outline: 'none' }}
      >
        <Toolbar variant="dense" />
        {/* Pages load on first visit (one chunk each); the Dashboard is in the first one. */}
        <Suspense fallback={<LinearProgress aria-label="loading the page" />}>
          {signedIn ? (
            node ? (
              <NodePage name={node} />
            ) : (
              current.render()
            )
          ) : session.loading && (apiHasToken || apiMode === 'desktop') ? null : session.signedOut ||
            !apiHasToken ? (
            <TokenPrompt expired={apiHasToken && apiMode === 'web' && session.signedOut} />
          ) : (
            <ErrorAlert error={session.error} />
          )}
        </Suspense>
      </Box>
    </Box>
  );
}
