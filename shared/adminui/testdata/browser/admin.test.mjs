// The browser test of the admin view of the audit log (issue 7).
//
//   node admin.test.mjs <url> <user> <password>
//
// Drives Debian's chromium (CHROMIUM, default /usr/bin/chromium) with
// playwright-core, which never downloads a browser, against a running stack
// whose audit log holds a metadata_update of a subordinate whose metadata
// held <script>alert(1)</script> (shared/localstack/adminui_browser_test.go
// seeds one). It logs in, filters by event type, searches, opens an entry,
// follows its links and logs out; then sets up an authenticator app on the
// two-factor page and logs in again with a code it computes (RFC 6238), and
// registers and uses a security key through Chromium's virtual
// authenticator (CDP WebAuthn.addVirtualAuthenticator) on localhost, since
// WebAuthn refuses IP addresses. It saves full-page screenshots to
// SCREENSHOT_DIR (default build/screenshots).
// Exit status 0 when every step passed.

import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const [base, user, password] = process.argv.slice(2);
if (!base || !user || !password) {
  console.error('usage: node admin.test.mjs <url> <user> <password>');
  process.exit(2);
}
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
const screenshots = process.env.SCREENSHOT_DIR || path.join('build', 'screenshots');
const xss = '<script>alert(1)</script>';
const columns = ['Timestamp', 'User', 'Auth method', 'Tenant', 'Action', 'Resource type', 'Resource', 'Response code', 'Event type'];
const csp = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

let passed = 0;
let failed = 0;

async function step(name, fn) {
  try {
    await fn();
    passed++;
    console.log(`ok - ${name}`);
  } catch (err) {
    failed++;
    console.log(`not ok - ${name}`);
    console.log(String(err && err.stack ? err.stack : err).replace(/^/gm, '    '));
    throw err;
  }
}

// The texts of one column of the results table.
async function column(page, name) {
  const index = columns.indexOf(name);
  return page.locator('#result_list tbody tr').evaluateAll(
    (rows, i) => rows.map((row) => row.children[i]?.textContent.trim() ?? ''),
    index,
  );
}

// totp is the RFC 6238 code of a base32 secret at a time (SHA-1, six
// digits, 30 seconds), as an authenticator app computes it.
function totp(secret, time = Date.now()) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const key = [];
  let bits = 0;
  let value = 0;
  for (const c of secret.replace(/=+$/, '')) {
    value = ((value << 5) | alphabet.indexOf(c)) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      key.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(time / 30000)));
  const mac = createHmac('sha1', Buffer.from(key)).update(counter).digest();
  const offset = mac[mac.length - 1] & 15;
  return String((mac.readUInt32BE(offset) & 0x7fffffff) % 1000000).padStart(6, '0');
}

async function logIn(page, site = base) {
  await page.goto(`${site}/admin/login/`);
  await page.getByLabel('Username').fill(user);
  await page.getByLabel('Password').fill(password);
  await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Log in' }).click()]);
}

async function shoot(page, name) {
  const file = path.join(screenshots, name);
  await page.screenshot({ path: file, fullPage: true });
  console.log(`# screenshot ${file}`);
}

const userDataDir = await mkdtemp(path.join(tmpdir(), 'inmor-admin-chromium-'));
let context;
const dialogs = [];
const consoleErrors = [];
const failedLoads = [];
try {
  await mkdir(screenshots, { recursive: true });
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath,
    headless: true,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
    viewport: { width: 1400, height: 900 },
    locale: 'en-US',
    timezoneId: 'Europe/Helsinki', // the pages must show UTC whatever the browser's zone
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(15000);
  page.on('dialog', async (d) => {
    dialogs.push(d.message());
    await d.dismiss();
  });
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => consoleErrors.push(String(e)));
  page.on('response', (r) => {
    if (r.status() >= 400 && !r.request().isNavigationRequest()) failedLoads.push(`${r.status()} ${r.url()}`);
  });

  await step('the admin sends an anonymous visitor to the login form, with the security headers', async () => {
    const response = await page.goto(`${base}/admin/`);
    assert.match(page.url(), /\/admin\/login\/\?next=/);
    const headers = response.headers();
    assert.equal(headers['content-security-policy'], csp);
    assert.equal(headers['x-frame-options'], 'DENY');
    assert.equal(headers['referrer-policy'], 'same-origin');
    assert.equal(headers['cache-control'], 'no-store');
    assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Log in');
  });

  await step('a wrong password shows the form again with an error', async () => {
    await page.getByLabel('Username').fill(user);
    await page.getByLabel('Password').fill(`${password}-wrong`);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('alert').waitFor();
    assert.match(await page.getByRole('alert').textContent(), /correct username and password/);
  });

  await step('logging in leads to the audit log list', async () => {
    await page.getByLabel('Username').fill(user);
    await page.getByLabel('Password').fill(password);
    await Promise.all([
      page.waitForNavigation(),
      page.getByRole('button', { name: 'Log in' }).click(),
    ]);
    await page.waitForURL(/\/admin\/auditlog\/auditlogentry\/$/);
    assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Select audit log entry to view');
    assert.deepEqual(await page.locator('#result_list thead th').allTextContents(), columns);
    assert.ok((await page.locator('#result_list tbody tr').count()) >= 5, 'the seeded entries are listed');
    const times = await column(page, 'Timestamp');
    for (const t of times) assert.match(t, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/);
    assert.deepEqual([...times].sort().reverse(), times, 'newest first');
    assert.match(await page.locator('#result-count').textContent(), /^\d+ entries/);
  });

  await step('a <script> in a resource name renders as text and runs nothing', async () => {
    const cells = await column(page, 'Resource');
    assert.ok(cells.some((c) => c.includes(xss)), `no resource shows ${xss} as text: ${cells}`);
    assert.equal(await page.locator('script').count(), 0);
    assert.deepEqual(dialogs, []);
    await shoot(page, 'list.png');
  });

  await step('at 1280×800 every column header shows, none scrolled away or under the filter panel', async () => {
    await page.setViewportSize({ width: 1280, height: 800 });
    const headers = await page.evaluate(() => {
      const panel = document.querySelector('#changelist-filter').getBoundingClientRect();
      const region = document.querySelector('.table-scroll').getBoundingClientRect();
      return [...document.querySelectorAll('#result_list thead th')].map((th) => {
        const r = th.getBoundingClientRect();
        const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
        return {
          text: th.textContent.trim(), left: Math.round(r.left), right: Math.round(r.right),
          onTop: !!hit && th.contains(hit),
          inRegion: r.left >= region.left - 1 && r.right <= region.right + 1,
          clearOfPanel: r.right <= panel.left || r.left >= panel.right || r.bottom <= panel.top || r.top >= panel.bottom,
          inViewport: r.left >= 0 && r.right <= window.innerWidth,
        };
      });
    });
    assert.equal(headers.length, columns.length);
    for (const h of headers) {
      assert.ok(h.onTop && h.inRegion && h.clearOfPanel && h.inViewport, `column ${h.text} is hidden at 1280 px: ${JSON.stringify(h)}`);
    }
    await shoot(page, 'list-1280.png');
    await page.setViewportSize({ width: 1400, height: 900 });
  });

  await step('the list fits a phone: the table scrolls, the page does not', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(overflow <= 0, `the page is ${overflow}px wider than the phone`);
    const scroll = await page.locator('.table-scroll').first().evaluate((e) => e.scrollWidth > e.clientWidth);
    assert.ok(scroll, 'the results table scrolls horizontally');
    await shoot(page, 'list-phone.png');
    await page.setViewportSize({ width: 1400, height: 900 });
  });

  await step('filtering by event type shows only that event type, marked as active', async () => {
    const group = page.locator('#changelist-filter details', { hasText: 'By event type' });
    await group.getByRole('link', { name: 'metadata_update', exact: true }).click();
    await page.waitForURL(/event_type=metadata_update/);
    const events = await column(page, 'Event type');
    assert.ok(events.length >= 1, 'a metadata_update is listed');
    for (const e of events) assert.equal(e, 'metadata_update');
    const selected = page.locator('#changelist-filter details', { hasText: 'By event type' }).locator('[aria-current="true"]');
    assert.equal(await selected.textContent(), 'metadata_update');
    assert.match(await page.locator('.active-filters').textContent(), /Event type:\s*metadata_update/);
  });

  await step('searching keeps the filter and finds the resource', async () => {
    await page.getByRole('searchbox', { name: 'Search' }).fill('OP.EXAMPLE.ORG');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.waitForURL(/q=OP\.EXAMPLE\.ORG/);
    assert.match(page.url(), /event_type=metadata_update/);
    const resources = await column(page, 'Resource');
    assert.ok(resources.length >= 1, 'the search finds the subordinate');
    for (const r of resources) assert.ok(r.toLowerCase().includes('op.example.org'), r);
    await shoot(page, 'list-filtered.png');
  });

  await step('an entry shows its fields, its diff with added and removed keys, and both snapshots as text', async () => {
    await page.locator('#result_list tbody tr').first().locator('th a').click();
    await page.waitForURL(/\/admin\/auditlog\/auditlogentry\/\d+\/change\//);
    assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'View audit log entry');
    const fields = page.locator('table.fields');
    for (const name of ['ID', 'Timestamp', 'User', 'Auth method', 'Tenant', 'IP address', 'User agent', 'Request id', 'Action', 'Resource type', 'Resource', 'Endpoint', 'HTTP method', 'Response code', 'Success', 'Event type']) {
      assert.equal(await fields.getByRole('rowheader', { name, exact: true }).count(), 1, `field ${name}`);
    }
    assert.match(await fields.textContent(), /metadata_update/);
    assert.match(await fields.textContent(), /\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6} UTC/);
    const changes = await page.locator('table.diff tbody tr').evaluateAll((rows) => rows.map((r) => r.className));
    assert.ok(changes.some((c) => c.includes('change-added')), `no added key: ${changes}`);
    assert.ok(changes.some((c) => c.includes('change-removed')), `no removed key: ${changes}`);
    assert.ok(changes.some((c) => c.includes('change-changed')), `no changed key: ${changes}`);
    assert.deepEqual(await page.locator('table.diff thead th').allTextContents(), ['Field', 'Change', 'Old value', 'New value']);
    const before = await page.locator('figure.snapshot', { hasText: 'Before' }).locator('pre').textContent();
    assert.ok(before.includes(xss), 'the old metadata shows the <script> as text');
    assert.ok(before.includes('\n  "'), 'the snapshot is formatted JSON');
    const after = await page.locator('figure.snapshot', { hasText: 'After' }).locator('pre').textContent();
    assert.ok(JSON.parse(after).metadata, 'the snapshot after is JSON with the metadata');
    assert.equal(await page.locator('script').count(), 0);
    assert.equal(await page.locator('main form, main input, main textarea, main select, main button').count(), 0, 'nothing to edit');
    assert.deepEqual(dialogs, []);
    await shoot(page, 'detail.png');
    await page.setViewportSize({ width: 390, height: 844 });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(overflow <= 0, `the entry page is ${overflow}px wider than the phone`);
    await shoot(page, 'detail-phone.png');
    await page.setViewportSize({ width: 1400, height: 900 });
  });

  await step("the entry leads to its resource's full history", async () => {
    const entryURL = page.url();
    await page.getByRole('link', { name: /^History of Subordinate #\d+$/ }).click();
    await page.waitForURL((u) => u.searchParams.get('resource_type') === 'Subordinate' && /^\d+$/.test(u.searchParams.get('resource_id') ?? ''));
    const types = await column(page, 'Resource type');
    assert.ok(types.length >= 2, 'the creation and the update');
    for (const t of types) assert.equal(t, 'Subordinate');
    const actions = await column(page, 'Action');
    assert.ok(actions.includes('CREATE') && actions.includes('UPDATE'), `${actions}`);
    await page.goto(entryURL);
  });

  await step('and back to the list it came from, filters and search kept', async () => {
    await page.getByRole('link', { name: '← Back to the list' }).click();
    await page.waitForURL(/\/admin\/auditlog\/auditlogentry\/\?/);
    assert.match(page.url(), /event_type=metadata_update/);
    assert.match(page.url(), /q=OP\.EXAMPLE\.ORG/);
    assert.equal(await page.getByRole('searchbox', { name: 'Search' }).inputValue(), 'OP.EXAMPLE.ORG');
  });

  await step('logging out ends the session', async () => {
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByRole('heading', { name: 'Logged out' }).waitFor();
    await page.goto(`${base}/admin/auditlog/auditlogentry/`);
    assert.match(page.url(), /\/admin\/login\/\?next=/);
  });

  let secret;
  await step('the two-factor page sets up an authenticator app: a QR code drawn inline, the key shown once', async () => {
    await logIn(page);
    await page.getByRole('link', { name: 'Two-factor authentication' }).click();
    await page.waitForURL(/\/admin\/mfa\/$/);
    assert.match(await page.locator('main').textContent(), /Not set up/);
    await page.getByRole('button', { name: 'Set up an authenticator app' }).click();
    await page.locator('.qr svg').waitFor();
    assert.equal(await page.locator('.qr svg path').count(), 1);
    const box = await page.locator('.qr svg').boundingBox();
    assert.ok(box.width >= 200 && box.height >= 200, `the QR code is ${box.width}×${box.height}`);
    secret = (await page.locator('#totp-secret').textContent()).trim();
    assert.match(secret, /^[A-Z2-7]{32}$/);
    assert.equal(await page.locator('script:not([src])').count(), 0, 'no inline script');
    await shoot(page, 'mfa-enrol.png');
  });

  await step('a code from the app confirms it, and the recovery codes are shown once', async () => {
    await page.getByLabel('Code from the app').fill(totp(secret));
    await page.getByRole('button', { name: 'Confirm' }).click();
    await page.getByText('The authenticator app is set up').waitFor();
    const codes = await page.locator('ul.recovery-codes code').allTextContents();
    assert.equal(codes.length, 10);
    for (const c of codes) assert.match(c, /^[0-9a-z]{5}-[0-9a-z]{5}$/);
    await shoot(page, 'mfa-recovery-codes.png');
    await page.reload();
    assert.equal(await page.locator('ul.recovery-codes code').count(), 0, 'the codes are not shown again');
    assert.equal(await page.locator('#totp-secret').count(), 0, 'the key is not shown again');
    assert.equal(await page.locator('#recovery-left').textContent(), '10');
  });

  await step('the login then asks for a code, and the computed one opens the session', async () => {
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByRole('heading', { name: 'Logged out' }).waitFor();
    await logIn(page);
    assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Two-factor authentication');
    assert.match(page.url(), /\/admin\/login\/$/);
    await shoot(page, 'mfa-login.png');
    // The enrolment used the current time step's code: the next step's.
    await page.getByLabel('Code').fill(totp(secret, Date.now() + 30000));
    await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Verify' }).click()]);
    await page.waitForURL(/\/admin\/auditlog\/auditlogentry\/$/);
    assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Select audit log entry to view');
  });

  await step('the app is removed again', async () => {
    await page.goto(`${base}/admin/mfa/`);
    await page.getByRole('button', { name: 'Remove the authenticator app' }).click();
    await page.getByText('The authenticator app and its recovery codes were removed.').waitFor();
  });

  // WebAuthn wants a domain: the same stack as http://localhost:PORT
  // (a secure context, as 127.0.0.1 is, but a valid relying party id).
  const local = base.replace('://127.0.0.1', '://localhost');
  await step("a security key registers through Chromium's virtual authenticator, the page's one script allowed by a nonce", async () => {
    const cdp = await context.newCDPSession(page);
    await cdp.send('WebAuthn.enable');
    await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: {
        protocol: 'ctap2', transport: 'usb', hasResidentKey: true, hasUserVerification: true,
        isUserVerified: true, automaticPresenceSimulation: true,
      },
    });
    await logIn(page, local);
    const response = await page.goto(`${local}/admin/mfa/`);
    const policy = response.headers()['content-security-policy'];
    const nonce = await page.locator('script').evaluate((e) => e.nonce); // the attribute is hidden once parsed
    assert.equal(policy, `${csp}; script-src 'nonce-${nonce}'; connect-src 'self'`);
    assert.equal(await page.locator('script').count(), 1);
    assert.equal(await page.locator('script:not([src])').count(), 0, 'no inline script');
    await page.getByLabel('Name').fill('Virtual key');
    // The script asks the auth function for the options, the browser for a
    // credential, and the auth function again to register it.
    await page.getByRole('button', { name: 'Add a security key or passkey' }).click();
    await page.getByText('The security key is registered').waitFor();
    const codes = await page.locator('#recovery-codes ul.recovery-codes code').allTextContents();
    assert.equal(codes.length, 10, 'the first factor brings recovery codes, shown in the page');
    for (const c of codes) assert.match(c, /^[0-9a-z]{5}-[0-9a-z]{5}$/);
    await page.reload();
    assert.equal((await page.locator('.webauthn-keys .key-name').allTextContents()).join(), 'Virtual key');
    assert.equal(await page.locator('ul.recovery-codes code').count(), 0, 'the codes are not shown again');
    await shoot(page, 'mfa-webauthn.png');
  });

  await step('the login then offers the security key, which opens the session', async () => {
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByRole('heading', { name: 'Logged out' }).waitFor();
    await logIn(page, local);
    assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Two-factor authentication');
    // The script takes the second step through the API, which sets the
    // session's cookies, then goes on to the list.
    await page.getByRole('button', { name: 'Use a security key' }).click();
    await page.waitForURL(/\/admin\/auditlog\/auditlogentry\/$/);
    assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Select audit log entry to view');
  });

  await step('the security key is removed again', async () => {
    await page.goto(`${local}/admin/mfa/`);
    await page.getByRole('button', { name: 'Remove Virtual key' }).click();
    await page.getByText('The security key was removed.').waitFor();
    assert.equal(await page.locator('.webauthn-keys').count(), 0);
  });

  await step('no script ran, every file loaded, and the Content-Security-Policy was never violated', async () => {
    assert.deepEqual(dialogs, []);
    assert.deepEqual(failedLoads, []);
    assert.deepEqual(consoleErrors, []);
  });
} catch (err) {
  if (!failed) {
    failed++;
    console.log(`not ok - setup: ${err && err.stack ? err.stack : err}`);
  }
} finally {
  if (context) await context.close();
  await rm(userDataDir, { recursive: true, force: true });
  console.log(`${passed} passed, ${failed} failed`);
}
process.exit(failed === 0 && passed > 0 ? 0 : 1);
