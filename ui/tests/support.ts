import { expect, type Page } from '@playwright/test';
import { readFileSync } from 'node:fs';

export interface Stack {
  baseURL: string;
  email: string;
  password: string;
  clusterId: string;
  clusterName: string;
  frontendURL: string;
}

export const stack = JSON.parse(readFileSync(process.env.PYXIE_UI_STACK ?? 'test-results/stack.json', 'utf8')) as Stack;

export async function login(page: Page, next = '/clusters') {
  await page.goto(`/login?next=${encodeURIComponent(next)}`);
  await page.getByLabel('Email').fill(stack.email);
  await page.getByLabel('Password').fill(stack.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('navigation', { name: 'Main' })).toBeVisible();
}

export async function shot(page: Page, name: string) {
  await page.screenshot({ path: `test-results/screenshots/${name}.png`, fullPage: true });
}
