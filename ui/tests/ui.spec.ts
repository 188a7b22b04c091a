import { expect, test } from '@playwright/test';
import { login, shot, stack } from './support';

const live = (script: string, args: Record<string, string> = {}) =>
  `/live?${new URLSearchParams({ cluster: stack.clusterId, script, ...args })}`;

test('a wrong password is refused in place and no session is set', async ({ page, context }) => {
  await page.goto('/login');
  await page.getByLabel('Email').fill(stack.email);
  await page.getByLabel('Password').fill('not-the-password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('alert')).toContainText('wrong email or password');
  await expect(page).toHaveURL(/\/login/);
  const cookies = await context.cookies();
  expect(cookies.find((c) => c.name === '__Host-pyxie-session')).toBeUndefined();
  await shot(page, 'login-error');
});

test('login sets a Secure HttpOnly SameSite=Strict __Host- session and lists the cluster HEALTHY', async ({
  page,
  context,
}) => {
  await login(page);
  const session = (await context.cookies()).find((c) => c.name === '__Host-pyxie-session');
  expect(session).toMatchObject({ httpOnly: true, secure: true, sameSite: 'Strict', path: '/' });
  const row = page.getByRole('table', { name: 'Clusters' }).getByRole('row').filter({ hasText: stack.clusterName });
  await expect(row).toContainText('HEALTHY');
  await expect(row).toContainText(/\d+ \/ \d+/);
  // Nothing of the session is readable from script.
  expect(await page.evaluate(() => document.cookie)).not.toContain('pyxie-session');
  expect(await page.evaluate(() => JSON.stringify(localStorage))).not.toMatch(/eyJ|px-api/);
  await shot(page, 'clusters');
});

test('the live view shows table rows of real traced traffic', async ({ page }) => {
  await login(page, live('px/http_data'));
  const grid = page.getByRole('grid', { name: 'Table' });
  await expect(grid.getByRole('row').nth(2)).toBeVisible();
  await expect(page.getByLabel('Table row count')).toHaveText(/^[1-9][\d,]* of [\d,]+ rows$/);
  await expect(grid).toContainText('demo/');
  // Sorting by a column header flips aria-sort.
  const header = grid.getByRole('columnheader').first();
  await header.click();
  await expect(header).toHaveAttribute('aria-sort', 'ascending');
  await header.click();
  await expect(header).toHaveAttribute('aria-sort', 'descending');
  await shot(page, 'live-http-data');
});

test('the service map draws the demo services', async ({ page }) => {
  await login(page, live('px/service_map'));
  const nodes = page.getByRole('list', { name: 'Service Map nodes' });
  await expect(nodes).toContainText('demo/frontend');
  await expect(nodes).toContainText('demo/orders');
  await expect(page.getByRole('img', { name: 'Service Map graph' }).locator('canvas').first()).toBeVisible();
  await expect(
    page.getByRole('region', { name: 'Requests per edge' }).locator('g.mark-rect path').first(),
  ).toBeVisible();
  await shot(page, 'service-map');
});

test('ctrl+k finds a script and its time series render', async ({ page }) => {
  await login(page, live('px/http_data'));
  await expect(page.getByRole('grid', { name: 'Table' })).toBeVisible();
  await page.keyboard.press('Control+k');
  await page.getByRole('dialog', { name: 'Search scripts' }).getByRole('searchbox').fill('service_st');
  await page.keyboard.press('Enter');
  await expect(page).toHaveURL(/script=px%2Fservice_stats/);
  for (const widget of ['HTTP Requests', 'HTTP Errors', 'Latency']) {
    await expect(page.getByRole('region', { name: widget }).locator('g.mark-line path').first()).toBeVisible();
  }
  await shot(page, 'service-stats');
});

test('the editor marks a compile error at its line and column', async ({ page }) => {
  await login(page, `/editor?cluster=${stack.clusterId}`);
  const editor = page.locator('.monaco-editor').first();
  await expect(editor).toBeVisible();
  await editor.click();
  await page.keyboard.press('Control+a');
  await page.keyboard.press('Delete');
  await page.keyboard.insertText(
    "import px\n\ndf = px.DataFrame(table='http_events', start_time='-1m')\ndf = df[df.no_such_column > 1]\npx.display(df)\n",
  );
  await page.keyboard.press('Control+Enter');
  const errors = page.getByRole('list', { name: 'Compile errors' });
  await expect(errors).toContainText("Line 4, column 9: column 'no_such_column' not found");
  // Monaco draws the marker as a squiggle on line 4 (lines are 19px high at font size 13).
  const squiggle = page.locator('.squiggly-error').first();
  await expect(squiggle).toBeVisible();
  const lineHeight = await page
    .locator('.view-lines .view-line')
    .first()
    .evaluate((el) => el.getBoundingClientRect().height);
  const top = await squiggle.evaluate((el) => parseFloat((el.parentElement as HTMLElement).style.top));
  expect(Math.round(top / lineHeight) + 1).toBe(4);
  await shot(page, 'editor-compile-error');
});

test('the editor runs a fixed script and shows its rows', async ({ page }) => {
  await login(page, `/editor?cluster=${stack.clusterId}`);
  await expect(page.locator('.monaco-editor').first()).toBeVisible();
  await page.getByRole('button', { name: /^Run/ }).click();
  await expect(page.getByLabel('http row count')).toHaveText(/^[1-9][\d,]* of/);
  await shot(page, 'editor');
});

for (const [title, prefix, button] of [
  ['API keys', 'px-api-', 'Create API key'],
  ['Deploy keys', 'px-dep-', 'Create deploy key'],
] as const) {
  test(`${title}: create shows the key once, then list and delete`, async ({ page }) => {
    await login(page, '/admin');
    const section = page.getByRole('region', { name: title });
    const desc = `ui-test-${Date.now()}`;
    await section.getByLabel(`New ${title} description`).fill(desc);
    await section.getByRole('button', { name: button }).click();
    const shown = section.getByRole('status', { name: `New ${title}` });
    await expect(shown).toContainText(prefix);
    const value = (await shown.locator('code').textContent()) ?? '';
    const row = section
      .getByRole('table', { name: `${title} list` })
      .getByRole('row')
      .filter({ hasText: desc });
    await expect(row).toHaveCount(1);
    await shot(page, `admin-${prefix.slice(3, 6)}`);
    await page.reload();
    await expect(row).toHaveCount(1);
    await expect(page.locator('body')).not.toContainText(value);
    await row.getByRole('button', { name: `Delete ${desc}` }).click();
    await expect(row).toHaveCount(0);
  });
}

test('state-changing calls without the CSRF token are refused', async ({ page, context }) => {
  await login(page);
  const missing = await page.request.post('/api/ui/api-keys', { data: { desc: 'csrf-missing' } });
  expect(missing.status()).toBe(403);
  const wrong = await page.request.post('/api/ui/api-keys', {
    data: { desc: 'csrf-wrong' },
    headers: { 'X-CSRF-Token': 'forged' },
  });
  expect(wrong.status()).toBe(403);
  const csrf = (await context.cookies()).find((c) => c.name === '__Host-pyxie-csrf')?.value ?? '';
  const right = await page.request.post('/api/ui/api-keys', {
    data: { desc: 'csrf-right' },
    headers: { 'X-CSRF-Token': csrf },
  });
  expect(right.status()).toBe(201);
  const { id } = (await right.json()) as { id: string };
  const removed = await page.request.delete(`/api/ui/api-keys/${id}`, { headers: { 'X-CSRF-Token': csrf } });
  expect(removed.status()).toBe(200);
});

test('logout revokes the session; going back shows the login page', async ({ page, context }) => {
  await login(page);
  await page.getByRole('link', { name: 'Keys' }).click();
  await expect(page.getByRole('region', { name: 'API keys' })).toBeVisible();
  const session = (await context.cookies()).find((c) => c.name === '__Host-pyxie-session')!;
  await page.getByRole('button', { name: 'Log out' }).click();
  await expect(page.getByRole('form', { name: 'Sign in' })).toBeVisible();
  await page.goBack();
  await expect(page.getByRole('form', { name: 'Sign in' })).toBeVisible();
  await expect(page).toHaveURL(/\/login/);
  // The old token itself no longer works: the session was revoked, not only forgotten.
  await context.addCookies([session]);
  const replay = await page.request.get('/api/ui/session');
  expect(replay.status()).toBe(401);
});

test('a deep link carries script and arguments, and editing an argument updates the URL', async ({ page }) => {
  await login(page, live('px/http_data', { max_num_records: '7' }));
  await expect(page.getByLabel('max_num_records')).toHaveValue('7');
  await expect(page.getByLabel('Table row count')).toHaveText('7 of 7 rows');
  await page.getByLabel('max_num_records').fill('3');
  await page.getByLabel('max_num_records').press('Enter');
  await expect(page).toHaveURL(/max_num_records=3/);
  await expect(page.getByLabel('Table row count')).toHaveText('3 of 3 rows');
});

test('a 100k-row table scrolls to its last row with only visible rows in the DOM', async ({ page }) => {
  await login(page, `/editor?cluster=${stack.clusterId}`);
  const editor = page.locator('.monaco-editor').first();
  await expect(editor).toBeVisible();
  await editor.click();
  await page.keyboard.press('Control+a');
  await page.keyboard.press('Delete');
  await page.keyboard.insertText(
    [
      '#px:set max_output_rows_per_table=100000',
      'import px',
      "df = px.DataFrame(table='http_events', start_time='-5m')",
      'df = df.head(400)',
      'df.k = 1',
      "df = df[['k', 'latency', 'resp_status']]",
      "rows = df.merge(df, how='inner', left_on='k', right_on='k', suffixes=['', '_b'])",
      'rows = rows.head(100000)',
      "px.display(rows, 'synthetic')",
      '',
    ].join('\n'),
  );
  await page.keyboard.press('Control+Enter');
  await expect(page.getByLabel('synthetic row count')).toHaveText('100,000 of 100,000 rows', { timeout: 90_000 });
  const grid = page.getByRole('grid', { name: 'synthetic' });
  expect(await grid.getByRole('row').count()).toBeLessThan(200);
  await grid.evaluate((el) => {
    el.scrollTop = el.scrollHeight;
  });
  await expect(grid.locator('[aria-rowindex="100001"]')).toBeVisible();
  expect(await grid.getByRole('row').count()).toBeLessThan(200);
  await shot(page, 'table-100k');
});

test('the CSP is strict and blocks an injected inline script', async ({ page }) => {
  const response = await page.goto('/login');
  const csp = response?.headers()['content-security-policy'] ?? '';
  expect(csp).toContain("script-src 'self'");
  expect(csp).toContain("object-src 'none'");
  expect(csp).toContain("frame-ancestors 'none'");
  expect(csp.match(/script-src[^;]*/)?.[0]).not.toMatch(/unsafe-inline|unsafe-eval/);
  const outcome = await page.evaluate(
    () =>
      new Promise<{ ran: boolean; violation: string }>((resolve) => {
        let violation = '';
        document.addEventListener('securitypolicyviolation', (e) => {
          violation = e.violatedDirective;
        });
        const script = document.createElement('script');
        script.textContent = 'window.__injected = true;';
        document.body.appendChild(script);
        setTimeout(
          () => resolve({ ran: (window as unknown as { __injected?: boolean }).__injected === true, violation }),
          500,
        );
      }),
  );
  expect(outcome.ran).toBe(false);
  expect(outcome.violation).toMatch(/script-src/);
});

test('query results cross the api only as JWE and are decrypted in the page', async ({ page, context }) => {
  const requests: string[] = [];
  page.on('request', (request) => {
    if (request.url().endsWith('/api/ui/execute')) requests.push(request.postData() ?? '');
  });
  await login(page, live('px/service_map'));
  // The page decrypted and decoded the rows itself.
  await expect(page.getByRole('list', { name: 'Service Map nodes' })).toContainText('demo/orders');
  expect(requests.length).toBeGreaterThan(0);
  const sent = JSON.parse(requests[0]) as { encryption: { jwk: Record<string, string> } };
  expect(sent.encryption.jwk).toMatchObject({ kty: 'RSA', alg: 'RSA-OAEP-256', use: 'enc' });
  expect(Object.keys(sent.encryption.jwk)).not.toContain('d');
  // Chromium keeps no copy of a body the page consumed as a stream, so the page's exact request
  // (its public key, its session) is sent again and the api's answer read off the wire.
  const csrf = (await context.cookies()).find((c) => c.name === '__Host-pyxie-csrf')?.value ?? '';
  const replay = await page.request.post('/api/ui/execute', {
    data: requests[0],
    headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf },
  });
  expect(replay.status()).toBe(200);
  const body = await replay.text();
  const lines = body
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { type: string; jwe?: string });
  expect(lines.filter((l) => l.type === 'jwe').length).toBeGreaterThan(0);
  for (const line of lines) {
    expect(['meta', 'jwe', 'stats', 'end']).toContain(line.type);
    if (line.type === 'jwe') {
      expect(line.jwe).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
      const header = JSON.parse(Buffer.from(line.jwe!.split('.')[0], 'base64url').toString()) as Record<string, string>;
      expect(header).toEqual({ alg: 'RSA-OAEP-256', enc: 'A256GCM', zip: 'DEF' });
    }
  }
  // The rows the page shows never crossed the api in plaintext.
  expect(body).not.toContain('demo/orders');
  expect(body).not.toContain('demo/frontend');
});
