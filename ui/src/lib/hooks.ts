import { useEffect, useState } from 'react';
import { api, type Cluster, type Script } from './api';

export function useClustersAndScripts() {
  const [clusters, setClusters] = useState<Cluster[] | null>(null);
  const [scripts, setScripts] = useState<Script[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    Promise.all([api.clusters(), api.scripts()]).then(
      ([c, s]) => {
        setClusters(c);
        setScripts(s);
      },
      (e: Error) => setError(e.message),
    );
  }, []);
  return { clusters, scripts, error };
}

// ctrl/cmd + key anywhere on the page.
export function useShortcut(key: string, action: () => void) {
  useEffect(() => {
    const listener = (event: KeyboardEvent) => {
      if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === key) {
        event.preventDefault();
        action();
      }
    };
    window.addEventListener('keydown', listener);
    return () => window.removeEventListener('keydown', listener);
  }, [key, action]);
}
