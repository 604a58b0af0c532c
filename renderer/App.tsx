import { useEffect, useState, type ReactNode } from 'react';
import type { QueryClient } from '@tanstack/react-query';
import {
  AppBar,
  Box,
  Chip,
  Drawer,
  List,
  ListItemButton,
  ListItemIcon,
  ListItemText,
  Toolbar,
  Typography,
} from '@mui/material';
import DashboardIcon from '@mui/icons-material/SpaceDashboard';
import StorefrontIcon from '@mui/icons-material/Storefront';
import MemoryIcon from '@mui/icons-material/Memory';
import LanIcon from '@mui/icons-material/Lan';
import RocketLaunchIcon from '@mui/icons-material/RocketLaunch';
import UsbIcon from '@mui/icons-material/Usb';
import HistoryIcon from '@mui/icons-material/History';
import SettingsIcon from '@mui/icons-material/Settings';
import { useRoute, navigate } from './router.js';
import { connectLiveUpdates } from './live.js';
import { apiHasToken, apiMode } from './api.js';
import { DashboardPage } from './pages/dashboard/DashboardPage.js';
import { AuditPage } from './pages/audit/AuditPage.js';
import { SettingsPage } from './pages/settings/SettingsPage.js';
import { ComingPage } from './components/ComingPage.js';
import { AppStorePage } from './pages/apps/AppStorePage.js';
import { DeviceStorePage } from './pages/devices/DeviceStorePage.js';
import { SitesPage } from './pages/sites/SitesPage.js';
import { DeploymentsPage } from './pages/deployments/DeploymentsPage.js';
import { TokenPrompt } from './TokenPrompt.js';

interface NavItem {
  path: string;
  label: string;
  icon: ReactNode;
  render: () => ReactNode;
}

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
    render: () => (
      <ComingPage
        title="Air gap"
        text="Signed bundles exported to USB drives for air-gapped sites, and their status bundles coming back."
      />
    ),
  },
  { path: '/audit', label: 'Audit', icon: <HistoryIcon />, render: () => <AuditPage /> },
  { path: '/settings', label: 'Settings', icon: <SettingsIcon />, render: () => <SettingsPage /> },
];

const DRAWER = 220;

export function App({ queryClient }: { queryClient: QueryClient }) {
  const route = useRoute();
  const [live, setLive] = useState<'live' | 'reconnecting'>('reconnecting');
  useEffect(() => (apiHasToken ? connectLiveUpdates(queryClient, setLive) : undefined), [queryClient]);
  const current =
    NAV.find((n) => n.path === route) ??
    NAV.find((n) => n.path !== '/' && route.startsWith(n.path + '/')) ??
    NAV[0]!;

  return (
    <Box sx={{ display: 'flex', minHeight: '100vh' }}>
      <AppBar position="fixed" sx={{ zIndex: (t) => t.zIndex.drawer + 1 }}>
        <Toolbar variant="dense">
          <Typography variant="h6" component="div" sx={{ flexGrow: 1 }}>
            Outpost
          </Typography>
          <Chip
            size="small"
            data-testid="live-indicator"
            label={live === 'live' ? 'live' : 'reconnecting'}
            color={live === 'live' ? 'success' : 'warning'}
            variant="outlined"
            sx={{ color: 'inherit', borderColor: 'currentColor', mr: 1 }}
          />
          <Chip
            size="small"
            label={apiMode === 'desktop' ? 'desktop' : 'web portal'}
            sx={{ color: 'inherit' }}
            variant="outlined"
          />
        </Toolbar>
      </AppBar>
      <Drawer
        variant="permanent"
        sx={{
          width: DRAWER,
          flexShrink: 0,
          '& .MuiDrawer-paper': { width: DRAWER, boxSizing: 'border-box' },
        }}
      >
        <Toolbar variant="dense" />
        <List component="nav" aria-label="main navigation">
          {NAV.map((n) => (
            <ListItemButton key={n.path} selected={n === current} onClick={() => navigate(n.path)}>
              <ListItemIcon sx={{ minWidth: 36 }}>{n.icon}</ListItemIcon>
              <ListItemText primary={n.label} />
            </ListItemButton>
          ))}
        </List>
      </Drawer>
      <Box component="main" sx={{ flexGrow: 1, p: 3, minWidth: 0 }}>
        <Toolbar variant="dense" />
        {apiHasToken ? current.render() : <TokenPrompt />}
      </Box>
    </Box>
  );
}
