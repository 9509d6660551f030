// Hash routes (`#/jobs/<id>`), so the coordinator serves one HTML shell for every view.
import { useEffect, useState } from 'react';

export type Route =
  | { view: 'overview' }
  | { view: 'jobs' }
  | { view: 'job'; id: string; task: number | null }
  | { view: 'submit' }
  | { view: 'contributors' }
  | { view: 'contributor'; id: string }
  | { view: 'timeline' }
  | { view: 'settings' }
  | { view: 'people' }
  | { view: 'audit' }
  | { view: 'panel' };

export function parseRoute(hash: string): Route {
  const parts = hash.replace(/^#\/?/, '').split('/').filter(Boolean);
  switch (parts[0]) {
    case 'jobs':
      if (!parts[1]) return { view: 'jobs' };
      return {
        view: 'job',
        id: parts[1],
        task: parts[2] === 'tasks' && parts[3] ? Number(parts[3]) : null,
      };
    case 'submit':
      return { view: 'submit' };
    case 'contributors':
      return parts[1]
        ? { view: 'contributor', id: decodeURIComponent(parts[1]) }
        : { view: 'contributors' };
    case 'settings':
      if (parts[1] === 'people') return { view: 'people' };
      if (parts[1] === 'audit') return { view: 'audit' };
      return { view: 'settings' };
    case 'timeline':
      return { view: 'timeline' };
    case 'panel':
      return { view: 'panel' };
    default:
      return { view: 'overview' };
  }
}

export function go(path: string): void {
  window.location.hash = path;
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(window.location.hash));
  useEffect(() => {
    const on = () => setRoute(parseRoute(window.location.hash));
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return route;
}
