import { useCallback, useEffect, useState } from "preact/hooks";
import { apiGet } from "./api";

export interface ApiState<T> {
  data: T | undefined;
  error: Error | undefined;
  loading: boolean;
  reload: () => void;
}

// useApi fetches an API endpoint when the component mounts and whenever
// the path or parameters change; reload fetches again.
export function useApi<T>(path: string, params?: Record<string, string | string[]>): ApiState<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<Error | undefined>(undefined);
  const [loading, setLoading] = useState(true);
  const [nonce, setNonce] = useState(0);
  const key = path + "?" + JSON.stringify(params ?? {});
  useEffect(() => {
    let live = true;
    setLoading(true);
    apiGet<T>(path, params)
      .then((d) => {
        if (!live) return;
        setData(d);
        setError(undefined);
      })
      .catch((e: unknown) => {
        if (!live) return;
        setError(e instanceof Error ? e : new Error(String(e)));
      })
      .finally(() => {
        if (live) setLoading(false);
      });
    return () => {
      live = false;
    };
    // key stands for path and params.
  }, [key, nonce]);
  const reload = useCallback(() => setNonce((n) => n + 1), []);
  return { data, error, loading, reload };
}

// useLocalStorage keeps a string setting in localStorage.
export function useLocalStorage(key: string, initial: string): [string, (v: string) => void] {
  const [v, setV] = useState<string>(() => {
    try {
      return window.localStorage.getItem(key) ?? initial;
    } catch {
      return initial;
    }
  });
  const set = useCallback(
    (nv: string) => {
      setV(nv);
      try {
        window.localStorage.setItem(key, nv);
      } catch {
        // Storage may be disabled (private mode); the setting then lasts
        // for this page only.
      }
    },
    [key],
  );
  return [v, set];
}
