import { defineConfig } from '@playwright/test';
import { readFileSync } from 'node:fs';

// testing/ui/run brings a real cloud + vizier up and writes where it is.
const stackFile = process.env.PYXIE_UI_STACK ?? 'test-results/stack.json';
const stack = JSON.parse(readFileSync(stackFile, 'utf8')) as { baseURL: string };

export default defineConfig({
  testDir: 'tests',
  outputDir: 'test-results/artifacts',
  // One worker: the machine has 2 cores and the stack runs beside the browser.
  workers: 1,
  retries: 0,
  timeout: 120_000,
  expect: { timeout: 60_000 },
  reporter: [['list']],
  use: {
    baseURL: stack.baseURL,
    // The api's certificate comes from the devstack's local CA (tests only).
    ignoreHTTPSErrors: true,
    viewport: { width: 1440, height: 900 },
    screenshot: 'only-on-failure',
    launchOptions: {
      executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--ignore-certificate-errors',
      ],
    },
  },
});
