import { expect, test, type Page } from '@playwright/test';
import { connect } from 'node:net';
import { login, shot, stack } from './support';

// The admin pages (users and invites, org settings, audit log, plugins), the profiler's
// flamegraph and hostile captured values, on the same stack as ui.spec.ts.

async function csrfHeaders(page: Page) {
  const csrf = (await page.context().cookies()).find((c) => c.name === '__Host-pyxie-csrf')?.value ?? '';
  return { 'X-CSRF-Token': csrf };
}

test('users: invite by email, the invitee joins once with the link, then is removed', async ({ page, browser }) => {
  await login(page, '/users');
  await expect(page.getByRole('table', { name: 'Members list' })).toContainText(stack.email);
  const invitee = `invitee-${Date.now()}@pyxie.local`;
  await page.getByLabel('Invite email').fill(invitee);
  await page.getByRole('button', { name: 'Invite', exact: true }).click();
  const shown = page.getByRole('status', { name: 'Invite link' });
  await expect(shown).toContainText('invite_token=');
  const link = (await shown.locator('code').textContent()) ?? '';
  const token = new URL(link).searchParams.get('invite_token') ?? '';
  expect(token.length).toBeGreaterThan(20);
  await shot(page, 'users-invite');

  // A fresh browser (no session) opens the link on this cloud and joins.
  const guest = await browser.newContext({ ignoreHTTPSErrors: true, baseURL: stack.baseURL });
  const joinPage = await guest.newPage();
  const join = async () => {
    await joinPage.goto(`/signup?invite_token=${encodeURIComponent(token)}`);
    await joinPage.getByLabel('Email').fill(invitee);
    await joinPage.getByLabel('Name').fill('Invited Person');
    await joinPage.getByLabel('Password').fill('a long enough password 1');
    await joinPage.getByRole('button', { name: 'Join' }).click();
  };
  await join();
  await expect(joinPage.getByRole('navigation', { name: 'Main' })).toBeVisible();
  await shot(joinPage, 'signup-joined');
  await guest.clearCookies();
  // The link works once.
  await join();
  await expect(joinPage.getByRole('alert')).toContainText(/invalid|used|expired/i);
  await guest.close();

  await page.reload();
  const row = page.getByRole('table', { name: 'Members list' }).getByRole('row').filter({ hasText: invitee });
  await expect(row).toContainText('Invited Person');
  await row.getByRole('button', { name: `Remove ${invitee}` }).click();
  await expect(row).toHaveCount(0);
});

test('org settings: approvals and IDE links are saved and shown again', async ({ page }) => {
  await login(page, '/org');
  const org = page.getByRole('region', { name: 'Organization' });
  const approvals = org.getByRole('checkbox');
  await expect(org).toContainText('Approvals');
  const before = await approvals.isChecked();
  await approvals.click();
  if (before) await expect(approvals).not.toBeChecked();
  else await expect(approvals).toBeChecked();
  await page.reload();
  const after = page.getByRole('region', { name: 'Organization' }).getByRole('checkbox');
  if (before) await expect(after).not.toBeChecked();
  else await expect(after).toBeChecked();
  const ide = page.getByRole('region', { name: 'IDE links' });
  await ide.getByLabel('IDE name').fill('vscode');
  await ide.getByLabel('IDE path template').fill('vscode://file/{{path}}:{{line}}');
  await ide.getByRole('button', { name: 'Add IDE link' }).click();
  await expect(ide.getByRole('table', { name: 'IDE links list' })).toContainText('vscode://file/{{path}}:{{line}}');
  await shot(page, 'org-settings');
  await ide.getByRole('button', { name: 'Delete vscode' }).click();
  await expect(ide.getByText('No IDE links yet.')).toBeVisible();
  await after.click();
  if (before) await expect(after).toBeChecked();
  else await expect(after).not.toBeChecked();
  await page.reload();
  if (before) await expect(after).toBeChecked();
  else await expect(after).not.toBeChecked();
});

test('audit log: filtered by action, paged newest first', async ({ page }) => {
  await login(page, '/clusters');
  // 26 audited key creations: more than one page of 25.
  const headers = await csrfHeaders(page);
  const ids: string[] = [];
  for (let i = 0; i < 26; i++) {
    const created = await page.request.post('/api/ui/api-keys', { data: { desc: `audit-page-${i}` }, headers });
    expect(created.status()).toBe(201);
    ids.push(((await created.json()) as { id: string }).id);
  }
  await page.goto('/audit');
  const events = page.getByRole('table', { name: 'Audit events' });
  await expect(events).toContainText('apikey.create');
  await page.getByLabel('Action filter').fill('apikey.create');
  await page.getByRole('button', { name: 'Filter' }).click();
  await expect(page).toHaveURL(/action=apikey.create/);
  await expect(page.getByLabel('Audit range')).toHaveText('1–25');
  const actions = await events.locator('tbody tr td:nth-child(2)').allTextContents();
  expect(new Set(actions)).toEqual(new Set(['apikey.create']));
  await shot(page, 'audit');
  await page.getByRole('button', { name: 'Older' }).click();
  await expect(page).toHaveURL(/offset=25/);
  await expect(page.getByLabel('Audit range')).toHaveText(/^26–/);
  await page.getByRole('button', { name: 'Newer' }).click();
  await expect(page.getByLabel('Audit range')).toHaveText('1–25');
  for (const id of ids) await page.request.delete(`/api/ui/api-keys/${id}`, { headers });
});

test('plugins: enable OpenTelemetry, its secrets come back masked, presets listed, disable', async ({ page }) => {
  await login(page, '/plugins');
  // Start from a disabled plugin (an earlier, interrupted run may have left it on).
  await page.request.put('/api/ui/plugins/otel', { data: { enabled: false }, headers: await csrfHeaders(page) });
  await page.reload();
  const otel = page.getByRole('region', { name: 'OpenTelemetry settings' });
  await expect(otel).toContainText('disabled');
  // Enabling needs the export target (this plugin has no default URL).
  await otel.getByLabel('Export URL').fill('https://exporter:hunter2-url@otlp.example.com:4317');
  await otel.getByLabel('Config api-key').fill('secret-value-123');
  await otel.getByRole('button', { name: 'Enable OpenTelemetry' }).click();
  await expect(otel).toContainText('enabled 1.0.0');
  const scripts = page.getByRole('table', { name: 'Retention scripts list' });
  await expect(scripts).toContainText('preset');
  // Saving again with the secret field left empty keeps the stored secret.
  await otel.getByLabel('Config authorization').fill('Bearer token-value-456');
  await otel.getByRole('button', { name: 'Save' }).click();
  await expect(otel.getByRole('status')).toContainText('Saved');
  await page.reload();
  const stored = page.getByRole('region', { name: 'OpenTelemetry settings' });
  await expect(stored.getByLabel('Stored secrets')).toContainText('api-key = ********');
  await expect(stored.getByLabel('Stored secrets')).toContainText('authorization = ********');
  await expect(stored.getByLabel('Export URL')).toHaveValue(/exporter:\*+@otlp\.example\.com/);
  expect(await page.content()).not.toContain('secret-value-123');
  expect(await page.content()).not.toContain('hunter2-url');
  expect(await page.content()).not.toContain('token-value-456');
  await shot(page, 'plugins');
  await stored.getByRole('button', { name: 'Disable' }).click();
  await expect(stored).toContainText('disabled');
});

test('the flamegraph of px/perf_flamegraph draws frames of the demo', async ({ page }) => {
  const live = `/live?${new URLSearchParams({ cluster: stack.clusterId, script: 'px/perf_flamegraph' })}`;
  await login(page, live);
  const flame = page.getByRole('img', { name: 'Flamegraph flamegraph' });
  await expect(flame.locator('svg g.frame').first()).toBeVisible();
  // The demo's frontend is Python's http.server: its handler's frames are in the samples.
  await expect(flame.locator('svg title').filter({ hasText: 'do_GET' }).first()).toBeAttached();
  expect(await flame.locator('svg g.frame').count()).toBeGreaterThan(20);
  await shot(page, 'flamegraph');
});

// Raw bytes on the wire: the request line and headers exactly as an attacker sends them.
function send(raw: Buffer): Promise<void> {
  const url = new URL(stack.frontendURL);
  return new Promise((resolve) => {
    const socket = connect(Number(url.port), url.hostname, () => socket.end(raw));
    socket.on('data', () => undefined);
    socket.on('close', () => resolve());
    socket.on('error', () => resolve());
    socket.setTimeout(5000, () => socket.destroy());
  });
}

const HOSTILE = {
  script: '/pwn/<script>window.__pwned=1</script>',
  img: '/pwn/<img/src=x/onerror=window.__pwned=2>',
  bidi: '/pwn/\u202Egnp.exe\u202C\u0007\u001b[31mred',
  agent: '<img src=x onerror="window.__pwned=3">',
  jsUrl: 'javascript:window.__pwned=4',
  body: '<svg onload=window.__pwned=5>',
};

// Typed into Monaco, a new line keeps the indentation of the one before: only the first line
// of the body is indented here.
const HOSTILE_PXL = [
  'import px',
  '',
  '',
  'def service_edges(start_time: str):',
  "    df = px.DataFrame(table='http_events', start_time=start_time)",
  "df = df[px.contains(df.req_path, '/pwn/')]",
  "df.requestor = px.select(df.req_method == 'POST', df.req_body, df.req_path)",
  "df.responder = px.pluck(df.req_headers, 'User-Agent')",
  "df = df.groupby(['requestor', 'responder']).agg(request_count=('latency', px.count))",
  'df.error_rate = 0.0',
  'df.latency_p99 = 0',
  "return df[['requestor', 'responder', 'request_count', 'error_rate', 'latency_p99']]",
].join('\n');

test('hostile captured values render as text in the table, the service map and chart tooltips', async ({ page }) => {
  const cspViolations: string[] = [];
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) cspViolations.push(message.text());
  });
  await page.addInitScript(() => {
    const seen: string[] = [];
    (window as unknown as { __violations: string[] }).__violations = seen;
    document.addEventListener('securitypolicyviolation', (e) => seen.push(`${e.violatedDirective} ${e.blockedURI}`));
  });
  const requests = [
    `GET ${HOSTILE.script} HTTP/1.1\r\nHost: demo\r\nUser-Agent: ${HOSTILE.agent}\r\nReferer: ${HOSTILE.jsUrl}\r\nConnection: close\r\n\r\n`,
    `GET ${HOSTILE.img} HTTP/1.1\r\nHost: demo\r\nUser-Agent: ${HOSTILE.jsUrl}\r\nConnection: close\r\n\r\n`,
    `GET ${HOSTILE.bidi} HTTP/1.1\r\nHost: demo\r\nUser-Agent: ${HOSTILE.agent}\r\nConnection: close\r\n\r\n`,
    `POST /pwn/body HTTP/1.1\r\nHost: demo\r\nUser-Agent: ${HOSTILE.agent}\r\nContent-Type: text/html\r\nContent-Length: ${Buffer.byteLength(HOSTILE.body)}\r\nConnection: close\r\n\r\n${HOSTILE.body}`,
  ];
  for (const request of requests) await send(Buffer.from(request, 'utf8'));

  await login(page, `/editor?${new URLSearchParams({ cluster: stack.clusterId, script: 'px/service_map' })}`);
  const editor = page.locator('.monaco-editor').first();
  await expect(editor).toBeVisible();
  await expect(page.getByRole('region', { name: 'Service Map' })).toHaveCount(0);
  // The library's script replaces the starter once the scripts have loaded: wait for it.
  await expect(editor.locator('.view-lines')).toContainText('def service_edges');
  await editor.click();
  await page.keyboard.press('Control+a');
  await page.keyboard.press('Delete');
  await page.keyboard.insertText(HOSTILE_PXL);
  const nodes = page.getByRole('list', { name: 'Service Map nodes' });
  // Traced rows reach the tables within seconds: run until all four requests are there.
  await expect(async () => {
    await page.getByRole('button', { name: /^Run/ }).click();
    await expect(page.getByRole('button', { name: /^Run/ })).toBeEnabled();
    await expect(nodes).toContainText(HOSTILE.script, { timeout: 2000 });
    await expect(nodes).toContainText(HOSTILE.body, { timeout: 2000 });
    await expect(nodes).toContainText('gnp.exe', { timeout: 2000 });
  }).toPass({ timeout: 60_000 });
  for (const text of [HOSTILE.script, HOSTILE.img, HOSTILE.agent, HOSTILE.jsUrl, HOSTILE.body]) {
    await expect(nodes.getByText(text, { exact: true })).toHaveCount(1);
  }
  // Bidi overrides and control characters are shown as code points: "gnp.exe" cannot pose as
  // "exe.png", and no raw override reaches the page.
  await expect(nodes).toContainText('/pwn/[U+202E]gnp.exe[U+202C][U+0007][U+001B][31mred');
  // eslint-disable-next-line no-control-regex -- looking for control characters
  expect(await page.locator('main').textContent()).not.toMatch(/[\u202A-\u202E\u2066-\u2069\u0007\u001B]/);
  // The table shows the same text literally.
  const edges = page.getByRole('grid', { name: 'Edges' });
  await expect(edges).toContainText(HOSTILE.script);
  await expect(edges).toContainText(HOSTILE.agent);
  // Chart tooltip: hovering a bar shows its label as plain text (Vega sets a title attribute).
  const chart = page.getByRole('region', { name: 'Requests per edge' });
  const bars = chart.locator('g.mark-rect path');
  await expect(bars.first()).toBeVisible();
  const tooltips: string[] = [];
  for (let i = 0; i < (await bars.count()); i++) {
    await bars.nth(i).hover();
    tooltips.push(
      ...(await chart.locator('[title]').evaluateAll((els) => els.map((e) => e.getAttribute('title') ?? ''))),
    );
  }
  expect(tooltips.join('\n')).toContain(HOSTILE.agent);
  await shot(page, 'hostile-values');
  // Nothing ran: no flag set, no injected element, no CSP report caused by the values.
  expect(await page.evaluate(() => (window as unknown as { __pwned?: unknown }).__pwned)).toBeUndefined();
  expect(await page.locator('main img, main script, main svg[onload]').count()).toBe(0);
  expect(await page.evaluate(() => (window as unknown as { __violations: string[] }).__violations)).toEqual([]);
  expect(cspViolations).toEqual([]);
});
