// Drives the staff console in headless Chromium. Run by .ci/console-check.
// Usage: node console-check.js BASE_URL PASSWORD SCREENSHOT_DIR WORK_DIR
'use strict';
const fs = require('fs');
const http = require('http');
const path = require('path');
const { chromium } = require('playwright-core');

const [base, password, outDir, workDir] = process.argv.slice(2);
const axeSource = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const sizes = { desktop: { width: 1280, height: 800 }, phone: { width: 390, height: 844 } };
const problems = [];
let pagesChecked = 0;
let shots = 0;

function fail(msg) { problems.push(msg); }

// check runs on every page a person reaches: the status, no horizontal
// scrolling, no CSP violation or script error, and axe-core with no serious
// or critical violation; then a screenshot when asked.
async function check(page, who, size, name, shoot) {
  const scroll = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  if (scroll > 0) fail(`${who} ${size} ${name}: scrolls sideways by ${scroll}px`);
  // Evaluated through the DevTools protocol, which the page's CSP does not
  // govern: the page itself still runs no inline script.
  await page.evaluate(axeSource);
  const result = await page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ['violations'] });
    return r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.id} (${v.impact}): ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join('; ')}`);
  });
  for (const v of result) fail(`${who} ${size} ${name}: axe ${v}`);
  pagesChecked++;
  if (shoot) {
    await page.screenshot({ path: path.join(outDir, `${who}-${size}-${name}.png`), fullPage: true });
    shots++;
    // The README's two pictures (docs/img/console-*.png): the first screen
    // only, to keep them small.
    if (who === 'admin' && size === 'desktop' && (name === 'users' || name === 'policy')) {
      await page.screenshot({ path: path.join(outDir, `readme-console-${name}.png`) });
    }
  }
}

async function newPerson(browser, who, size) {
  const context = await browser.newContext({ viewport: sizes[size], acceptDownloads: true });
  const page = await context.newPage();
  // A page's own error status is asserted by goto; any other console
  // error (a CSP violation, a script error) fails, and so does a failed
  // subresource (a script or stylesheet).
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !msg.text().startsWith('Failed to load resource')) fail(`${who} ${size}: console error: ${msg.text()}`);
  });
  page.on('response', (res) => {
    const type = res.request().resourceType();
    if (type !== 'document' && res.status() >= 400 && !res.url().endsWith('/favicon.ico')) fail(`${who} ${size}: ${type} ${res.url()}: ${res.status()}`);
  });
  page.on('pageerror', (err) => fail(`${who} ${size}: page error: ${err.message}`));
  page.on('request', (req) => {
    if (!req.url().startsWith(base + '/') && !req.url().startsWith('http://127.0.0.1:' + crossPort)) fail(`${who}: request outside the server: ${req.url()}`);
  });
  return { context, page };
}

// goto loads url, wants status want and the console's CSP.
async function goto(page, url, want = 200) {
  const res = await page.goto(url, { waitUntil: 'load' });
  if (res.status() !== want) fail(`GET ${url}: got ${res.status()}, want ${want}`);
  const csp = res.headers()['content-security-policy'] || '';
  if (!csp.includes("frame-ancestors 'none'") || csp.includes('unsafe-inline')) fail(`GET ${url}: CSP ${csp}`);
  return res;
}

async function signIn(page, username) {
  await goto(page, base + '/console/login');
  await page.fill('#username', username);
  await page.fill('#password', password);
  await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
}

// walk visits every section the dashboard links to, and each one's main
// pages, checking and (when shoot) photographing each.
async function walk(page, who, size, shoot) {
  await goto(page, base + '/console/');
  await check(page, who, size, 'dashboard', shoot);
  const links = await page.$$eval('header nav a', (as) => as.map((a) => a.getAttribute('href')));
  const pages = [];
  if (links.includes('/console/users')) pages.push(['users', '/console/users'], ['user', '/console/users/4']);
  if (links.includes('/console/groups')) pages.push(...groupPages);
  if (links.includes('/console/policy')) pages.push(['policy', '/console/policy'], ['explain', '/console/policy/explain?role=staff&resource=users&action=list']);
  if (links.includes('/console/audit')) pages.push(['audit', '/console/audit'], ['history', '/console/users/4/history']);
  for (const [name, url] of pages) {
    await goto(page, base + url);
    await check(page, who, size, name, shoot);
  }
  return links;
}

let crossPort = 0;

// tenantPages visits the tenants list, one tenant and its history (which
// staff may not read: the 403 page), checking and photographing each.
async function tenantPages(page, who, size) {
  await goto(page, base + '/console/tenants');
  await check(page, who, size, 'tenants', true);
  const rows = await page.$$eval('table.tenants tbody tr', (trs) => trs.length);
  if (rows !== 2) fail(`${who} tenants: got ${rows} rows, want 2`);
  await goto(page, base + '/console/tenants/acme');
  await check(page, who, size, 'tenant', true);
  const members = await page.$$eval('table.members tbody tr', (trs) => trs.length);
  if (members !== 4) fail(`${who} tenant acme: got ${members} members, want 4`);
  const controls = await page.$$('text=Change role');
  if (who === 'admin' ? controls.length !== 4 : controls.length !== 0) fail(`${who} tenant acme: got ${controls.length} role controls`);
  await goto(page, base + '/console/tenants/acme/history', who === 'admin' ? 200 : 403);
  await check(page, who, size, 'tenant-history', true);
}

// adminTenantTasks searches the tenants list, changes one member's role,
// and creates an invitation, whose link is shown once with a copy button.
async function adminTenantTasks(page) {
  await goto(page, base + '/console/tenants');
  await page.fill('#q', 'zen');
  await page.waitForFunction(() => document.querySelector('.count strong').textContent === '1', null, { timeout: 5000 })
    .catch(async () => fail(`tenant search: got count ${await page.textContent('.count strong')}, want 1`));
  await goto(page, base + '/console/tenants/acme');
  const row = page.locator('table.members tbody tr', { hasText: 'customer04' });
  await row.locator('select[name=role]').selectOption('manager');
  await Promise.all([page.waitForNavigation(), row.locator('text=Change role').click()]);
  const notice = await page.textContent('.notice').catch(() => '');
  const role = await page.locator('table.members tbody tr', { hasText: 'customer04' }).locator('td[data-label=Role]').textContent();
  if (!notice.includes('membership was saved') || role.trim() !== 'manager') fail(`tenant role change: notice "${notice}", role "${role}"`);

  await page.fill('#i-email', 'newcomer@example.com');
  await page.selectOption('#i-role', 'user');
  await Promise.all([page.waitForNavigation(), page.click('text=Create invitation')]);
  const link = await page.inputValue('#accept-link').catch(() => '');
  if (!/\/v1\/invitations\/accept#token=[A-Z0-9]+$/.test(link)) fail(`invitation: got link "${link}"`);
  await page.click('button[data-copy]');
  await page.waitForFunction(() => document.querySelector('[data-copy-status]').textContent !== '', null, { timeout: 5000 })
    .catch(() => fail('invitation: the copy button said nothing'));
  await check(page, 'admin', 'desktop', 'invitation-created', true);
}

// groupPages are the groups section's pages, walked by whoever may list
// the groups; the users list filtered by group among them.
const groupPages = [['groups', '/console/groups'], ['group', '/console/groups/support'], ['users-in-group', '/console/users?group=support']];

// groupTasks: an administrator sees support's grants linked to the
// policy, its member, and the users list filtered by the group; adds a
// member and removes them again; runs the bulk "add to group".
async function groupTasks(page) {
  await goto(page, base + '/console/groups');
  if (!(await page.$('a[href="/console/policy#L212"]'))) fail('groups: support\'s grant does not link to policy line 212');
  await goto(page, base + '/console/users?group=support');
  const names = await page.$$eval('table.users tbody td[data-label=Username]', (tds) => tds.map((td) => td.textContent.trim()));
  if (names.join() !== 'support') fail(`users?group=support: got ${names.join(',')}, want support`);
  await goto(page, base + '/console/groups/support');
  await page.fill('#add-user', 'customer02');
  await Promise.all([page.waitForNavigation(), page.click('text=Add to support')]);
  if (!(await page.textContent('main')).includes('customer02 was added.')) fail('groups: adding customer02 was not confirmed');
  await check(page, 'admin', 'desktop', 'group-added', true);
  await Promise.all([page.waitForNavigation(), page.click('button[aria-label="Remove customer02 from support"]')]);
  if (!(await page.textContent('main')).includes('customer02 was removed.')) fail('groups: removing customer02 was not confirmed');
  await goto(page, base + '/console/users?q=customer03');
  await page.check('input[name=id][aria-label="Select customer03"]');
  await page.selectOption('#bulk-action', 'add_to_group');
  await page.selectOption('#bulk-group', 'support');
  await Promise.all([page.waitForNavigation(), page.click('text=Review…')]);
  await check(page, 'admin', 'desktop', 'bulk-group-confirm', true);
  await Promise.all([page.waitForNavigation(), page.click('button.danger')]);
  if (!(await page.textContent('main')).includes('Added to support.')) fail('bulk add to group: no "Added to support."');
}

// supportTasks: a staff member in support reads users read-only, is
// refused the sections support does not give, and a forged POST is 403.
async function supportTasks(page, size) {
  await goto(page, base + '/console/users');
  if (await page.$('input[type=checkbox]')) fail('support: the users list offers bulk actions');
  await goto(page, base + '/console/users/4');
  if (await page.$('text=Save') || await page.$('text=Delete this user')) fail('support: the user page offers changes');
  for (const url of ['/console/groups', '/console/policy', '/console/audit', '/console/users/export.csv']) {
    await goto(page, base + url, 403);
  }
  await check(page, 'support', size, 'forbidden', true);
  await goto(page, base + '/console/users');
  const token = await page.getAttribute('input[name=csrf_token]', 'value');
  for (const [url, form] of [['/console/users/bulk/apply', { action: 'deactivate', id: '6' }],
    ['/console/groups/support/members', { user: 'customer05' }], ['/console/users/6', { email: 'owned@example.com' }]]) {
    const res = await page.request.post(base + url, { form: { ...form, csrf_token: token }, maxRedirects: 0 });
    if (res.status() !== 403) fail(`support: forged POST ${url}: got ${res.status()}, want 403`);
  }
  await goto(page, base + '/console/users/6');
  if ((await page.inputValue('#f-active').catch(() => 'true')) !== 'true' || (await page.textContent('main')).includes('owned@example.com')) {
    fail('support: a forged POST changed user 6');
  }
}

async function adminTasks(page) {
  // Keyboard: the first Tab reaches the skip link, and it is visibly focused.
  await goto(page, base + '/console/users');
  await page.keyboard.press('Tab');
  const focused = await page.evaluate(() => {
    const el = document.activeElement;
    const s = getComputedStyle(el);
    return { cls: el.className, outline: s.outlineStyle };
  });
  if (focused.cls !== 'skip' || focused.outline === 'none') fail(`keyboard: first Tab focused ${JSON.stringify(focused)}, want the visible skip link`);

  // Search (htmx swaps the results in and pushes the URL).
  await page.fill('#q', 'customer0');
  await page.waitForFunction(() => location.search.includes('q=customer0'), null, { timeout: 5000 }).catch(() => fail('search: the URL did not follow the search'));
  await page.waitForFunction(() => document.querySelector('.count strong').textContent === '9', null, { timeout: 5000 })
    .catch(async () => fail(`search: got count ${await page.textContent('.count strong')}, want 9`));
  // Filter.
  await goto(page, base + '/console/users?role=staff');
  const staffRows = await page.$$eval('table.users tbody tr', (rows) => rows.length);
  if (staffRows !== 2) fail(`filter role=staff: got ${staffRows} rows, want 2 (support and staffer)`);
  // Sort: click the Username header twice (descending).
  await goto(page, base + '/console/users');
  await Promise.all([page.waitForNavigation(), page.click('th >> text=Username')]);
  await Promise.all([page.waitForNavigation(), page.click('th >> text=Username')]);
  const names = await page.$$eval('table.users tbody td[data-label=Username]', (tds) => tds.map((td) => td.textContent.trim()));
  const sorted = [...names].sort().reverse();
  if (names.join() !== sorted.join() || !page.url().includes('o=-username')) fail(`sort -username: got ${names.join(',')}`);

  // Bulk deactivate with its confirmation.
  await goto(page, base + '/console/users?q=customer01');
  await page.check('input[name=id][aria-label="Select customer01"]');
  await page.selectOption('#bulk-action', 'deactivate');
  await Promise.all([page.waitForNavigation(), page.click('text=Review…')]);
  await check(page, 'admin', 'desktop', 'bulk-confirm', true);
  if (!(await page.textContent('main')).includes('customer01')) fail('bulk: the confirmation does not list customer01');
  await Promise.all([page.waitForNavigation(), page.click('button.danger')]);
  await check(page, 'admin', 'desktop', 'bulk-done', true);
  const done = await page.textContent('main');
  if (!done.includes('1 of 1 done') || !done.includes('Now inactive.')) fail(`bulk: got "${done.slice(0, 200)}"`);

  // CSV export of a filtered view, read back.
  await goto(page, base + '/console/users?q=customer&o=username');
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('text=Export CSV')]);
  const file = path.join(workDir, 'users.csv');
  await download.saveAs(file);
  const lines = fs.readFileSync(file, 'utf8').trim().split('\n');
  if (lines.length !== 15 || !lines[0].startsWith('id,username,email') || !lines[1].includes("customer01") || !lines[1].includes("'=Cell01")) {
    fail(`export: got ${lines.length} lines, first ${lines.slice(0, 2).join(' | ')}`);
  }

  // An edit with a field error.
  await goto(page, base + '/console/users/5');
  await page.fill('#f-email', 'not an email');
  await Promise.all([page.waitForNavigation(), page.click('text=Save')]);
  const err = await page.textContent('#err-email').catch(() => '');
  if (!err.includes('valid email')) fail(`edit: got field error "${err}"`);
  await check(page, 'admin', 'desktop', 'edit-error', true);

  // A form on another origin, with the token even copied, is refused.
  const token = await page.getAttribute('input[name=csrf_token]', 'value');
  const attacker = http.createServer((req, res) => {
    res.setHeader('Content-Type', 'text/html');
    res.end(`<form method="post" action="${base}/console/users/bulk/apply"><input name="csrf_token" value="${token}">` +
      `<input name="action" value="deactivate"><input name="id" value="6"><button id="go">go</button></form>`);
  });
  await new Promise((r) => attacker.listen(0, '127.0.0.1', r));
  crossPort = attacker.address().port;
  await page.goto(`http://127.0.0.1:${crossPort}/`);
  const [res] = await Promise.all([page.waitForNavigation(), page.click('#go')]);
  const body = await page.textContent('body');
  if (res.status() !== 403 || !body.includes('came from another site')) fail(`cross-origin form: got ${res.status()}`);
  attacker.close();
  await goto(page, base + '/console/users/6');
  if ((await page.inputValue('#f-active')) !== 'true') fail('the cross-origin form deactivated user 6');
}

async function main() {
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
  try {
    for (const size of Object.keys(sizes)) {
      for (const [who, username] of [['admin', 'admin'], ['staff', 'staffer'], ['support', 'support']]) {
        const { context, page } = await newPerson(browser, who, size);
        await signIn(page, username);
        const links = await walk(page, who, size, true);
        const want = who === 'admin' ? ['/console/', '/console/users', '/console/tenants', '/console/groups', '/console/policy', '/console/audit'] : ['/console/', '/console/users', '/console/tenants'];
        if (links.join() !== want.join()) fail(`${who}: got sections ${links.join(', ')}, want ${want.join(', ')}`);
        if (who === 'staff') {
          await goto(page, base + '/console/users/4');
          if (await page.$('text=Save')) fail('staff: the edit form is shown on another user');
          await goto(page, base + '/console/policy', 403);
          await check(page, who, size, 'forbidden', true);
          await goto(page, base + '/console/groups', 403);
          await check(page, who, size, 'groups-forbidden', true);
        }
        await tenantPages(page, who, size);
        if (who === 'support') await supportTasks(page, size);
        if (who === 'admin' && size === 'desktop') await adminTasks(page);
        if (who === 'admin' && size === 'desktop') await adminTenantTasks(page);
        if (who === 'admin' && size === 'desktop') await groupTasks(page);
        await context.close();
      }
    }
    // The guest signs in and gets the 403 page, and can sign out.
    const { context, page } = await newPerson(browser, 'guest', 'desktop');
    await signIn(page, 'guest');
    const res = await goto(page, base + '/console/', 403);
    if (!(await page.textContent('main')).includes('may not use the staff console')) fail('guest: no 403 explanation');
    await check(page, 'guest', 'desktop', 'no-access', true);
    await goto(page, base + '/console/users', 403);
    await Promise.all([page.waitForNavigation(), page.click('text=Sign out')]);
    if (!page.url().endsWith('/console/login')) fail(`guest sign-out: at ${page.url()}`);
    await context.close();
    void res;
  } finally {
    await browser.close();
  }
  console.log(`console-check: ${pagesChecked} pages checked with axe-core, ${shots} screenshots`);
  if (problems.length) {
    for (const p of problems) console.error('console-check: ' + p);
    process.exit(1);
  }
}

main().catch((err) => { console.error(err); process.exit(1); });
