/**
 * The browser the dashboard tests drive: Debian's `chromium` package (scripts/setup --tests installs
 * it), through playwright-core, which brings no browser of its own. Without it the browser tests
 * skip and say why, except under CI=true, where they fail.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

export const chromiumPath: string = process.env.RELENGD_CHROMIUM ?? '/usr/bin/chromium';

export const chromiumPresent: boolean = existsSync(chromiumPath);

export const chromiumMissingReason = `no Chromium at ${chromiumPath} (install it with: bash scripts/setup --tests, or set RELENGD_CHROMIUM)`;

if (!chromiumPresent && process.env.CI === 'true') throw new Error(`CI=true but ${chromiumMissingReason}`);
if (!chromiumPresent) console.warn(`skipping browser tests: ${chromiumMissingReason}`);

export function launchChromium(): Promise<Browser> {
  // Chromium's sandbox needs user namespaces it does not get as root.
  const asRoot = process.getuid?.() === 0;
  return chromium.launch({ executablePath: chromiumPath, headless: true, args: asRoot ? ['--no-sandbox'] : [] });
}
