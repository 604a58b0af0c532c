import type { ConsoleQueryKey } from './query-keys.js';

// Every query key, filter and cache access of the console is a ConsoleQueryKey (query-keys.ts): a
// misspelt topic fails the typecheck. (Apart from query-keys.ts, so that tests outside the console's
// program can read its lists without react-query's types.)
declare module '@tanstack/react-query' {
  interface Register {
    queryKey: ConsoleQueryKey;
  }
}
