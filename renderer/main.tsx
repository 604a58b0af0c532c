import { StrictMode, useMemo, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { CssBaseline, ThemeProvider, useMediaQuery } from '@mui/material';
import { App } from './App.js';
import { makeTheme, readThemeChoice, saveThemeChoice, type ThemeChoice } from './theme.js';
import { apiHasToken, apiMode } from './api.js';
import { prefetchDashboard } from './pages/dashboard/DashboardPage.js';
import { sessionQuery } from './session.js';

/**
 * How long the first render waits for the first answers (who is signed in, and the Dashboard's data when
 * it opens there): one render with the page instead of an empty shell rendered first and the page a
 * moment later (two renders, the second one waiting for the first). A slow server gets the shell after
 * this long, and the page when its answers come (ADR 0234).
 */
const FIRST_ANSWERS_WAIT_MS = 300;

const queryClient = new QueryClient({
  defaultOptions: { queries: { retry: 1, refetchOnWindowFocus: true, staleTime: 2000 } },
});
// With a credential, the sign-in check is asked for now and, opened on the Dashboard, its data beside it.
const firstAnswers: Promise<unknown>[] = [];
if (apiHasToken || apiMode === 'desktop') {
  firstAnswers.push(queryClient.prefetchQuery(sessionQuery));
  if (['', '/'].includes(window.location.hash.replace(/^#/, '')))
    firstAnswers.push(...prefetchDashboard(queryClient));
}

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

const root = createRoot(document.getElementById('root')!);
const render = () =>
  root.render(
    <StrictMode>
      <QueryClientProvider client={queryClient}>
        <Root />
      </QueryClientProvider>
    </StrictMode>,
  );
if (firstAnswers.length === 0) render();
else
  void Promise.race([
    Promise.allSettled(firstAnswers),
    new Promise((resolve) => setTimeout(resolve, FIRST_ANSWERS_WAIT_MS)),
  ]).then(render);
