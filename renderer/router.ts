import { useEffect, useState } from 'react';

/** Hash routing (`#/apps`): works the same from file:// in Electron and over HTTP in a browser. */
export function useRoute(): string {
  const read = () => {
    const h = window.location.hash.replace(/^#/, '');
    return h.startsWith('/') ? h : '/';
  };
  const [route, setRoute] = useState(read);
  useEffect(() => {
    const on = () => setRoute(read());
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return route;
}

/** The route without its query (`/sites?site=a` -> `/sites`). */
export function routePath(route: string): string {
  const q = route.indexOf('?');
  return q < 0 ? route : route.slice(0, q);
}

/** The route's query parameters (`/sites?site=a&presence=offline`). */
export function routeQuery(route: string): URLSearchParams {
  const q = route.indexOf('?');
  return new URLSearchParams(q < 0 ? '' : route.slice(q + 1));
}

export function navigate(to: string): void {
  window.location.hash = to;
}
