// Loads /docs in headless Chromium and checks that every operation of
// /openapi.json is on the page. Run by .ci/docs-check.
// Usage: node docs-check.js BASE_URL SCREENSHOT
'use strict';
const { chromium } = require('playwright-core');

async function main() {
  const [base, screenshot] = process.argv.slice(2);
  const spec = await (await fetch(base + '/openapi.json')).json();
  const methods = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
  const operations = [];
  for (const [path, item] of Object.entries(spec.paths)) {
    for (const m of methods) if (item[m]) operations.push({ method: m, path, summary: item[m].summary });
  }

  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
  const problems = [];
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    page.on('console', (msg) => {
      if (msg.type() === 'error') problems.push('console error: ' + msg.text());
    });
    page.on('pageerror', (err) => problems.push('page error: ' + err.message));
    page.on('request', (req) => {
      const u = req.url();
      if (!u.startsWith(base + '/') && !u.startsWith('data:') && !u.startsWith('blob:')) {
        problems.push('request outside the server: ' + u);
      }
    });
    const res = await page.goto(base + '/docs', { waitUntil: 'load' });
    if (res.status() !== 200) problems.push(`GET /docs: got status ${res.status()}, want 200`);
    const last = operations[operations.length - 1];
    try {
      await page.waitForFunction(
        (summary) => document.body.innerText.includes(summary),
        last.summary,
        { timeout: 60000 },
      );
    } catch (err) {
      problems.push(`the page did not render "${last.summary}": ${err.message.split('\n')[0]}`);
    }
    // Every image on the page must have loaded: a broken one shows as an
    // empty frame (the Redocly logo's CDN image once did).
    const images = await page.evaluate(() =>
      Array.from(document.images).map((img) => ({ src: img.src.slice(0, 80), alt: img.alt, ok: img.complete && img.naturalWidth > 0 })),
    );
    for (const img of images) {
      if (!img.ok) problems.push(`broken image on the page: alt "${img.alt}", src ${img.src}`);
    }
    const text = await page.evaluate(() => document.body.innerText);
    let found = 0;
    for (const op of operations) {
      // Redoc shows each operation's summary in the menu and its heading,
      // and its path in the operation's endpoint box.
      if (!text.includes(op.summary)) problems.push(`operation ${op.method.toUpperCase()} ${op.path}: summary "${op.summary}" not on the page`);
      else if (!text.includes(op.path)) problems.push(`operation ${op.method.toUpperCase()} ${op.path}: path not on the page`);
      else found++;
    }
    await page.screenshot({ path: screenshot });
    console.log(`docs-check: ${found} of ${operations.length} operations (${Object.keys(spec.paths).length} paths) rendered; screenshot ${screenshot}`);
  } finally {
    await browser.close();
  }
  if (problems.length > 0) {
    for (const p of problems) console.error('docs-check: ' + p);
    process.exit(1);
  }
}

main().catch((err) => {
  console.error('docs-check:', err);
  process.exit(1);
});
