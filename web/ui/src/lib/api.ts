// Access to Vigil's HTTP API from the browser. Every call goes through
// apiGet so the route prefix and Prometheus' response envelope are handled
// in one place.

// The page routes the server answers with index.html; the prefix is what
// stands before one of them in the address bar.
export const pageRoutes = [
  "query",
  "alerts",
  "rules",
  "targets",
  "service-discovery",
  "status",
  "tsdb-status",
  "flags",
  "config",
] as const;
export type PageRoute = (typeof pageRoutes)[number];

let cachedPrefix: string | undefined;

// routePrefix returns the path prefix ("" or "/something", never ending in
// "/") under which the browser reaches the server. It prefers what the
// address bar shows, because a reverse proxy that strips a path
// (--web.external-url with a path, route prefix "/") makes the server's
// own prefix differ from the browser's; the meta tag the server writes is
// the fallback.
export function routePrefix(): string {
  if (cachedPrefix !== undefined) {
    return cachedPrefix;
  }
  const path = window.location.pathname;
  for (const r of pageRoutes) {
    const suffix = "/" + r;
    if (path.endsWith(suffix)) {
      cachedPrefix = path.slice(0, path.length - suffix.length);
      return cachedPrefix;
    }
  }
  const meta = document.querySelector<HTMLMetaElement>('meta[name="vigil-route-prefix"]');
  cachedPrefix = (meta?.content ?? "").replace(/\/+$/, "");
  return cachedPrefix;
}

// apiURL builds an absolute-path URL for an API endpoint such as
// "/api/v1/query". Array values repeat the parameter (match[]=a&match[]=b).
export function apiURL(path: string, params?: Record<string, string | string[] | undefined>): string {
  const qs = new URLSearchParams();
  if (params) {
    for (const [k, v] of Object.entries(params)) {
      if (v === undefined) continue;
      if (Array.isArray(v)) {
        for (const x of v) qs.append(k, x);
      } else {
        qs.append(k, v);
      }
    }
  }
  const q = qs.toString();
  return routePrefix() + path + (q ? "?" + q : "");
}

// The envelope every /api/v1 response comes in.
interface Envelope<T> {
  status: "success" | "error";
  data?: T;
  errorType?: string;
  error?: string;
  warnings?: string[];
  infos?: string[];
}

// ApiResponse is the data with the envelope's warnings and infos, for the
// callers that show them (the query page).
export interface ApiResponse<T> {
  data: T;
  warnings: string[];
  infos: string[];
}

// ApiError carries the server's error text and type so pages can show
// exactly what the server said.
export class ApiError extends Error {
  readonly status: number;
  readonly errorType: string;
  constructor(message: string, status: number, errorType: string) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.errorType = errorType;
  }
}

// apiRequest fetches an endpoint and returns data, warnings and infos. It
// throws ApiError with the server's `error` text on failure, or a plain
// Error naming the endpoint when the answer is not the API's JSON.
export async function apiRequest<T>(
  path: string,
  params?: Record<string, string | string[] | undefined>,
  init?: { signal?: AbortSignal; method?: "GET" | "POST" },
): Promise<ApiResponse<T>> {
  let resp: Response;
  if (init?.method === "POST") {
    // POST with a form body keeps long queries out of URL length limits.
    const body = new URLSearchParams();
    for (const [k, v] of Object.entries(params ?? {})) {
      if (v === undefined) continue;
      for (const x of Array.isArray(v) ? v : [v]) body.append(k, x);
    }
    resp = await fetch(apiURL(path), {
      method: "POST",
      body,
      headers: { Accept: "application/json" },
      signal: init.signal,
      credentials: "same-origin",
    });
  } else {
    resp = await fetch(apiURL(path, params), {
      headers: { Accept: "application/json" },
      signal: init?.signal,
      credentials: "same-origin",
    });
  }
  let env: Envelope<T>;
  try {
    env = (await resp.json()) as Envelope<T>;
  } catch {
    throw new ApiError(`${path}: HTTP ${resp.status} ${resp.statusText}, response is not JSON`, resp.status, "");
  }
  if (env.status !== "success") {
    throw new ApiError(env.error ?? `${path}: HTTP ${resp.status}`, resp.status, env.errorType ?? "");
  }
  return { data: env.data as T, warnings: env.warnings ?? [], infos: env.infos ?? [] };
}

// apiGet fetches an endpoint and returns only its data.
export async function apiGet<T>(path: string, params?: Record<string, string | string[]>): Promise<T> {
  return (await apiRequest<T>(path, params)).data;
}

// Shapes of the API's data used by more than one page.
export type Labels = Record<string, string>;
