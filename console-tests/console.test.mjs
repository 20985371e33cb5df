// Browser tests of the larkdesk web console, run by run.sh against a real server (demo mode,
// clock control) on a fresh database, in headless Chromium through playwright-core.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { chromium } from 'playwright-core';

const base = process.env.LARKDESK_BASE_URL;
const adminToken = process.env.LARKDESK_ADMIN_TOKEN;
const demo = JSON.parse(readFileSync(process.env.LARKDESK_CREDENTIALS, 'utf8')).demo;
const shots = process.env.SCREENSHOTS;

let browser;
/** Every response of 500 or more seen by any page: there must be none. */
const serverErrors = [];

before(async () => {
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM,
    args: ['--no-sandbox', '--disable-dev-shm-usage'],
  });
});

after(async () => {
  await browser?.close();
  assert.deepEqual(serverErrors, [], 'no page answered with a 5xx');
});

/** A fresh browser profile (own cookies) with a page that records 5xx answers. */
async function newPage() {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.on('response', (r) => {
    if (r.status() >= 500) serverErrors.push(`${r.status()} ${r.url()}`);
  });
  return page;
}

async function shot(page, name) {
  await page.screenshot({ path: `${shots}/${name}.png`, fullPage: true });
}

async function admin(path, body) {
  const r = await fetch(`${base}/larkdesk/admin/v1${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { Authorization: `Bearer ${adminToken}` },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await r.json();
  assert.equal(json.code, 0, JSON.stringify(json));
  return json.data;
}

async function advance(seconds) {
  await admin('/clock/advance', { seconds });
}

async function tenantToken(appSecret) {
  const r = await fetch(`${base}/open-apis/auth/v3/tenant_access_token/internal`, {
    method: 'POST',
    body: JSON.stringify({ app_id: demo.app_id, app_secret: appSecret }),
  });
  return r.json();
}

/** Every visible form control of the page has a label (for=, wrapping, or aria-label). */
async function assertLabelled(page) {
  const unlabelled = await page.$$eval('input, select, textarea', (controls) =>
    controls
      .filter((c) => c.type !== 'hidden')
      .filter((c) => !(c.labels && c.labels.length) && !c.getAttribute('aria-label'))
      .map((c) => c.outerHTML),
  );
  assert.deepEqual(unlabelled, [], `unlabelled controls on ${page.url()}`);
}

async function signInAdmin(page) {
  await page.goto(`${base}/console`);
  await page.getByLabel('Admin token').fill(adminToken);
  // Keyboard: Enter submits the form.
  await page.getByLabel('Admin token').press('Enter');
  await page.waitForURL(`${base}/console/admin`);
}

test('a wrong admin token is answered with a message on the page', async () => {
  const page = await newPage();
  await page.goto(`${base}/console/admin`);
  assert.equal(new URL(page.url()).pathname, '/console/login', 'pages need a session');
  await assertLabelled(page);
  await shot(page, '01-sign-in');
  await page.getByLabel('Admin token').fill('not-the-token');
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/console/login') && r.request().method() === 'POST'),
    page.getByRole('button', { name: 'Sign in as admin' }).click(),
  ]);
  assert.equal(response.status(), 401);
  await assert.doesNotReject(page.getByRole('alert').getByText('not the admin token').waitFor());
  await page.context().close();
});

test('keyboard: focus is visible and forms submit with Enter', async () => {
  const page = await newPage();
  await page.goto(`${base}/console/login`);
  await page.keyboard.press('Tab'); // the brand link
  await page.keyboard.press('Tab'); // the admin token field
  const focused = await page.evaluate(() => {
    const el = document.activeElement;
    const style = getComputedStyle(el);
    return { id: el.id, outline: style.outlineStyle, width: parseFloat(style.outlineWidth) };
  });
  assert.equal(focused.id, 'admin_token');
  assert.notEqual(focused.outline, 'none', 'the focused field shows an outline');
  assert.ok(focused.width >= 2, `outline width ${focused.width}`);
  await page.keyboard.type(adminToken);
  await page.keyboard.press('Enter');
  await page.waitForURL(`${base}/console/admin`);
  await page.context().close();
});

test('admin rotates an app secret, shown once, and the new one works', async () => {
  const page = await newPage();
  await signInAdmin(page);
  await assertLabelled(page);
  await shot(page, '02-admin-apps-helpdesks');
  await page.getByRole('button', { name: 'Rotate the secret of larkdesk demo app' }).click();
  const secret = (await page.locator('#secret').textContent()).trim();
  assert.match(secret, /^[A-Za-z0-9]{20,}$/);
  await shot(page, '03-admin-secret-shown-once');
  assert.equal((await tenantToken(secret)).code, 0, 'the new secret gets a token');
  assert.equal((await tenantToken(demo.app_secret)).code, 10014, 'the old one no longer does');
  await page.goto(`${base}/console/admin`);
  assert.equal(await page.locator('#secret').count(), 0, 'shown only once');
  assert.ok(!(await page.content()).includes(secret));

  // The other admin pages render and label their fields.
  for (const [path, name] of [
    ['/console/admin/users', '04-admin-users'],
    ['/console/admin/events', '05-admin-events'],
    ['/console/admin/journal', '06-admin-journal'],
  ]) {
    const r = await page.goto(`${base}${path}`);
    assert.equal(r.status(), 200, path);
    await assertLabelled(page);
    await shot(page, name);
  }
  await page.context().close();
});

test('bad input in a form is a message on the page, never a 5xx', async () => {
  const page = await newPage();
  await signInAdmin(page);
  await page.getByLabel("New tenant's name").fill('Acme');
  await page.getByLabel('Tenant key (optional: letters and digits)').fill('not a key!');
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/console/admin/tenants')),
    page.getByRole('button', { name: 'Create tenant' }).click(),
  ]);
  assert.equal(response.status(), 400);
  await page.getByRole('alert').getByText('tenant_key must be 1-64 ASCII letters or digits').waitFor();
  await shot(page, '07-bad-input');
  await page.context().close();
});

test('a whole lifecycle: guest asks, agent takes, replies and closes, the durations follow', async () => {
  // The guest opens a conversation and asks for a human.
  const guest = await newPage();
  await guest.goto(`${base}/console/login`);
  await guest.getByLabel('Guest', { exact: true }).selectOption({ index: 0 });
  await guest.getByRole('button', { name: 'Sign in as guest' }).click();
  await guest.waitForURL(`${base}/console/guest`);
  await assertLabelled(guest);
  await guest.getByRole('button', { name: 'Open a conversation' }).click();
  await guest.waitForURL(/\/console\/guest\/helpdesks\/\d+\/tickets\/\d+$/);
  const ticketId = guest.url().split('/').pop();
  await guest.getByLabel('Your message').fill('My printer is on fire');
  await guest.getByLabel('Your message').press('Enter');
  await guest.getByText('My printer is on fire').waitFor();
  await guest.getByRole('button', { name: 'Talk to a human' }).click();
  await guest.locator('#ticket-status').getByText('Queued').waitFor();
  await shot(guest, '08-guest-conversation');
  await advance(60);

  // The agent signs in by picking (demo mode), finds the ticket in the queue and takes it.
  const agent = await newPage();
  await agent.goto(`${base}/console/login`);
  await agent.getByLabel('Agent (demo mode: pick one)').selectOption({ index: 0 });
  await agent.getByRole('button', { name: 'Sign in as agent' }).click();
  await agent.waitForURL(`${base}/console/agent`);
  await assertLabelled(agent);
  await shot(agent, '09-agent-queue');
  await agent.getByRole('link', { name: ticketId }).click();
  await agent.waitForURL(new RegExp(`/tickets/${ticketId}$`));
  await assertLabelled(agent);
  assert.equal(await agent.locator('#d-first-response').textContent(), '—');
  await agent.getByRole('button', { name: 'Take this ticket' }).click();
  await agent.locator('#d-bot').getByText('1m 00s').waitFor();

  // Live updates: the guest writes, the agent's open page shows it without a reload.
  await guest.getByLabel('Your message').fill('Still burning');
  await guest.getByLabel('Your message').press('Enter');
  await agent.locator('#conversation').getByText('Still burning').waitFor({ timeout: 15000 });

  await advance(90);
  await agent.getByLabel(/^Reply to/).fill('Please unplug it first.');
  await agent.getByLabel(/^Reply to/).press('Enter');
  await agent.locator('#conversation').getByText('Please unplug it first.').waitFor();
  assert.equal(await agent.locator('#d-first-response').textContent(), '1m 30s');
  assert.equal(await agent.locator('#d-resolution').textContent(), '—');

  await advance(300);
  await agent.getByRole('button', { name: 'Close ticket' }).click();
  await agent.locator('#ticket-status').getByText('Closed by agent').waitFor();
  assert.equal(await agent.locator('#d-resolution').textContent(), '6m 30s');
  assert.equal(await agent.locator('#d-bot').textContent(), '1m 00s');
  await agent.getByText(/Event log/).click();
  await shot(agent, '10-agent-ticket-timeline');

  // What the page shows is what the Feishu API returns.
  const token = (await tenantTokenForDemo()).tenant_access_token;
  const helpdeskAuth = Buffer.from(`${demo.helpdesk_id}:${demo.helpdesk_token}`).toString('base64');
  const api = await (
    await fetch(`${base}/open-apis/helpdesk/v1/tickets/${ticketId}`, {
      headers: { Authorization: `Bearer ${token}`, 'X-Lark-Helpdesk-Authorization': helpdeskAuth },
    })
  ).json();
  assert.equal(api.data.ticket.agent_resolution_time, 390);
  assert.equal(api.data.ticket.agent_first_response_duration, 90);
  assert.equal(api.data.ticket.bot_service_duration, 60);

  // The guest sees the close and rates.
  await guest.reload();
  await guest.getByLabel('How did we do? (1 to 3)').fill('3');
  await guest.getByLabel('How did we do? (1 to 3)').press('Enter');
  await guest.locator('#ticket-status').getByText('Closed by agent').waitFor();
  await shot(guest, '11-guest-rated');

  // Reopen from the agent's side.
  await agent.getByRole('button', { name: 'Reopen' }).click();
  await agent.locator('#ticket-status').getByText('In progress').waitFor();
  await guest.context().close();
  await agent.context().close();
});

/** The admin test rotated the demo app's secret: mint a tenant token through the admin API. */
async function tenantTokenForDemo() {
  return admin(`/apps/${demo.app_id}/tenant_access_token`, {});
}
