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
        ? String(parsed.error)
        : `${response.status} ${response.statusText}`;
    throw new ApiError(response.status, message);
  }
  return parsed as T;
}

export interface Member {
  id: string;
  firstName: string;
  lastName: string;
  email: string;
  isApproved: boolean;
  profilePicture: string;
}

export interface Org {
  id: string;
  name: string;
  domainName: string;
  enableApprovals: boolean;
  ideConfigs: { ideName: string; path: string }[];
}

export interface AuditEvent {
  atNs: number;
  action: string;
  outcome: string;
  actor: string;
  target: string;
  reason: string;
  details: Record<string, string>;
}

export interface AuditPage {
  events: AuditEvent[];
  offset: number;
  limit: number;
  hasMore: boolean;
}

export interface Plugin {
  id: string;
  name: string;
  description: string;
  latestVersion: string;
  retentionSupported: boolean;
  retentionEnabled: boolean;
  enabledVersion: string;
}

export interface PluginDetail {
  id: string;
  configs: Record<string, string>;
  allowCustomExportUrl: boolean;
  allowInsecureTls: boolean;
  defaultExportUrl: string;
  orgConfig: { configs: Record<string, string>; customExportUrl: string; insecureTls: boolean } | null;
}

export interface PluginUpdate {
  enabled?: boolean;
  configs?: Record<string, string>;
  customExportUrl?: string;
  insecureTls?: boolean;
}

export interface RetentionScript {
  id: string;
  name: string;
  description: string;
  frequencyS: number;
  clusterIds: string[];
  pluginId: string;
  enabled: boolean;
  isPreset: boolean;
}

export const api = {
  config: () => call<{ oidc: boolean }>('GET', '/api/ui/config'),
  session: () => call<Session>('GET', '/api/ui/session'),
  login: (email: string, password: string) => call<{ email: string }>('POST', '/api/auth/login', { email, password }),
  logout: () => call<{ loggedOut: boolean }>('POST', '/api/ui/logout', {}),
  clusters: async () => (await call<{ clusters: Cluster[] }>('GET', '/api/ui/clusters')).clusters,
  scripts: async () => (await call<{ scripts: Script[] }>('GET', '/api/ui/scripts')).scripts,
  listKeys: async (kind: KeyKind) => (await call<{ keys: Key[] }>('GET', `/api/ui/${kind}`)).keys,
  createKey: (kind: KeyKind, desc: string) => call<Key>('POST', `/api/ui/${kind}`, { desc }),
  deleteKey: (kind: KeyKind, id: string) =>
    call<{ deleted: boolean }>('DELETE', `/api/ui/${kind}/${encodeURIComponent(id)}`),
  users: async () => (await call<{ users: Member[] }>('GET', '/api/ui/users')).users,
  setApproved: (id: string, isApproved: boolean) =>
    call<Member>('PUT', `/api/ui/users/${encodeURIComponent(id)}`, { isApproved }),
  removeUser: (id: string) => call<{ removed: boolean }>('DELETE', `/api/ui/users/${encodeURIComponent(id)}`),
  invite: (email: string) => call<{ email: string; inviteLink: string }>('POST', '/api/ui/invites', { email }),
  createInviteToken: () => call<{ token: string }>('POST', '/api/ui/invite-tokens', {}),
  revokeInviteTokens: () => call<{ revoked: boolean }>('DELETE', '/api/ui/invite-tokens'),
  signup: (body: { email: string; password: string; name: string; inviteToken: string }) =>
    call<{ userID: string; orgID: string }>('POST', '/api/ui/signup', body),
  org: () => call<Org>('GET', '/api/ui/org'),
  setApprovals: (enableApprovals: boolean) =>
    call<{ enableApprovals: boolean }>('PUT', '/api/ui/org', { enableApprovals }),
  addIdeConfig: (ideName: string, path: string) =>
    call<{ ideName: string; path: string }>('POST', '/api/ui/org/ide-configs', { ideName, path }),
  deleteIdeConfig: (ideName: string) =>
    call<{ deleted: boolean }>('DELETE', `/api/ui/org/ide-configs/${encodeURIComponent(ideName)}`),
  audit: (params: { action: string; offset: number; limit: number }) =>
    call<AuditPage>(
      'GET',
      `/api/ui/audit?${new URLSearchParams({ action: params.action, offset: String(params.offset), limit: String(params.limit) })}`,
    ),
  plugins: async () => (await call<{ plugins: Plugin[] }>('GET', '/api/ui/plugins')).plugins,
  plugin: (id: string) => call<PluginDetail>('GET', `/api/ui/plugins/${encodeURIComponent(id)}`),
  updatePlugin: (id: string, update: PluginUpdate) =>
    call<{ updated: boolean }>('PUT', `/api/ui/plugins/${encodeURIComponent(id)}`, update),
  retentionScripts: async () =>
    (await call<{ scripts: RetentionScript[] }>('GET', '/api/ui/retention-scripts')).scripts,
  setRetentionScriptEnabled: (id: string, enabled: boolean) =>
    call<{ updated: boolean }>('PUT', `/api/ui/retention-scripts/${encodeURIComponent(id)}`, { enabled }),
};

export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export type KeyKind = 'api-keys' | 'deploy-keys';
