import { createTheme, type Theme } from '@mui/material';

export type ThemeMode = 'light' | 'dark';
/** What the operator chose: follow the system setting, or one of the two. */
export type ThemeChoice = ThemeMode | 'system';

/**
 * The console's theme in either mode. Colours keep WCAG 2.2 AA contrast on both backgrounds (the warning
 * colour is a darker orange in light mode, 4.5:1 on white; ADR 0231); keyboard focus is drawn as a
 * visible ring everywhere, the side menu included.
 */
export function makeTheme(mode: ThemeMode): Theme {
  const dark = mode === 'dark';
  return createTheme({
    palette: {
      mode,
      primary: { main: dark ? '#7ab8e6' : '#1f5f8b' },
      secondary: { main: dark ? '#f0a864' : '#a14f00' },
      warning: { main: dark ? '#ffb74d' : '#a14f00' },
      success: { main: dark ? '#81c784' : '#1b6e20' },
      error: { main: dark ? '#ff8a80' : '#c62828' },
      background: dark ? { default: '#12161b', paper: '#1a1f26' } : { default: '#f4f6f8' },
    },
    shape: { borderRadius: 8 },
    typography: { fontFamily: 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif' },
    components: {
      MuiButtonBase: {
        styleOverrides: {
          root: {
            '&.Mui-focusVisible': {
              outline: `3px solid ${dark ? '#9fd0ff' : '#0b4f80'}`,
              outlineOffset: -3,
            },
          },
        },
      },
    },
  });
}

const KEY = 'outpost.theme';

export function readThemeChoice(): ThemeChoice {
  try {
    const v = localStorage.getItem(KEY);
    return v === 'light' || v === 'dark' ? v : 'system';
  } catch {
    return 'system';
  }
}

export function saveThemeChoice(c: ThemeChoice): void {
  try {
    if (c === 'system') localStorage.removeItem(KEY);
    else localStorage.setItem(KEY, c);
  } catch {
    /* storage refused (private mode): the choice lasts until the page closes */
  }
}
