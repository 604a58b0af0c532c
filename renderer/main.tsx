import { StrictMode, useMemo, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { CssBaseline, ThemeProvider, useMediaQuery } from '@mui/material';
import { App } from './App.js';
import { makeTheme, readThemeChoice, saveThemeChoice, type ThemeChoice } from './theme.js';
import { apiHasToken, apiMode } from './api.js';
import { prefetchDashboard } from './pages/dashboard/DashboardPage.js';

const queryClient = new QueryClient({
  defaultOptions: { queries: { retry: 1, refetchOnWindowFocus: true, staleTime: 2000 } },
});
// Opened on the Dashboard with a credential: its data is asked for now, beside the sign-in check.
if ((apiHasToken || apiMode === 'desktop') && ['', '/'].includes(window.location.hash.replace(/^#/, '')))
  prefetchDashboard(queryClient);

/** Light or dark: the system setting until the operator picks one with the toggle (remembered). */
function Root() {
  const systemDark = useMediaQuery('(prefers-color-scheme: dark)', { noSsr: true });
  const [choice, setChoice] = useState<ThemeChoice>(readThemeChoice);
  const mode = choice === 'system' ? (systemDark ? 'dark' : 'light') : choice;
  const theme = useMemo(() => makeTheme(mode), [mode]);
  const toggle = () => {
    // Back to following the system when the pick equals it.
    const next = mode === 'dark' ? 'light' : 'dark';
    const c: ThemeChoice = (next === 'dark') === systemDark ? 'system' : next;
    saveThemeChoice(c);
    setChoice(c);
  };
  return (
    <ThemeProvider theme={theme}>
      <CssBaseline enableColorScheme />
      <App queryClient={queryClient} themeMode={mode} onToggleTheme={toggle} />
    </ThemeProvider>
  );
}

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <QueryClientProvider client={queryClient}>
      <Root />
    </QueryClientProvider>
  </StrictMode>,
);
