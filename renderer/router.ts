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

export function navigate(to: string): void {
  window.location.hash = to;
}
