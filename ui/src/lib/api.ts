// The one typed client of the api's /api/ui endpoints (same origin, session cookie).
// State-changing calls echo the CSRF cookie in X-CSRF-Token (double submit).

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export interface Cluster {
  id: string;
  name: string;
  status: string;
  statusMessage: string;
  version: string;
  numNodes: number;
  numInstrumentedNodes: number;
  sinceHeartbeatNs: number;
}

export interface VisVariable {
  name: string;
  type: string;
  description?: string;
  defaultValue?: string;
}

export interface VisFunc {
  name: string;
  args: { name: string; variable?: string; value?: string }[];
}

export interface VisWidget {
  name?: string;
  position?: { x: number; y: number; w: number; h: number };
  func?: VisFunc;
  globalFuncOutputName?: string;
  tableOutputName?: string;
  displaySpec: Record<string, unknown> & { '@type': string };
}

export interface VisSpec {
  variables?: VisVariable[];
  globalFuncs?: { outputName: string; func: VisFunc }[];
  widgets?: VisWidget[];
}

export interface Script {
  name: string;
  short: string;
  long: string;
  pxl: string;
  vis: VisSpec | null;
}

export interface Key {
  id: string;
  desc: string;
  createdAtNs: number;
  key?: string;
}

export interface Session {
  userID: string;
  orgID: string;
  admin: boolean;
}

function csrfToken(): string {
  for (const part of document.cookie.split(';')) {
    const [name, ...rest] = part.trim().split('=');
    if (name === '__Host-pyxie-csrf') return rest.join('=');
  }
  return '';
}

export function jsonHeaders(): Record<string, string> {
  return { 'Content-Type': 'application/json', 'X-CSRF-Token': csrfToken() };
}

async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const init: RequestInit = { method, credentials: 'same-origin', headers: jsonHeaders() };
  if (body !== undefined) init.body = JSON.stringify(body);
  const response = await fetch(path, init);
  const text = await response.text();
  let parsed: unknown = {};
  try {
    parsed = text ? JSON.parse(text) : {};
  } catch {
    parsed = { error: text };
  }
  if (!response.ok) {
    const message =
      typeof parsed === 'object' && parsed !== null && 'error' in parsed
        ? String((parsed as { error: unknown }).error)
        : `${response.status} ${response.statusText}`;
    throw new ApiError(response.status, message);
  }
  return parsed as T;
}

export const api = {
  config: () => call<{ oidc: boolean }>('GET', '/api/ui/config'),
  session: () => call<Session>('GET', '/api/ui/session'),
  login: (email: string, password: string) =>
    call<{ email: string }>('POST', '/api/auth/login', { email, password }),
  logout: () => call<{ loggedOut: boolean }>('POST', '/api/ui/logout', {}),
  clusters: async () => (await call<{ clusters: Cluster[] }>('GET', '/api/ui/clusters')).clusters,
  scripts: async () => (await call<{ scripts: Script[] }>('GET', '/api/ui/scripts')).scripts,
  listKeys: async (kind: KeyKind) =>
    (await call<{ keys: Key[] }>('GET', `/api/ui/${kind}`)).keys,
  createKey: (kind: KeyKind, desc: string) => call<Key>('POST', `/api/ui/${kind}`, { desc }),
  deleteKey: (kind: KeyKind, id: string) =>
    call<{ deleted: boolean }>('DELETE', `/api/ui/${kind}/${encodeURIComponent(id)}`),
};

export type KeyKind = 'api-keys' | 'deploy-keys';
