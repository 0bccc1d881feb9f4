// Lighthouse on Haven's three first screens, as a phone on slow 3G sees them.
// Usage: node tests/e2e/lighthouse.mjs BASE_URL MEETING_ID OUT_DIR   (prints JSON scores)
// Started by tests/e2e/lighthouse_run.py, which stages a server with a live meeting.
import fs from 'node:fs';
import path from 'node:path';
import puppeteer from 'puppeteer-core';
import lighthouse from 'lighthouse';

const [base, meetingId, outDir] = process.argv.slice(2);
const CHROME = process.env.CHROME_PATH || '/usr/bin/chromium';

// Slow 3G as the e2e tests use it: ~400 kbit/s each way, 400 ms round trips, and the CPU of
// a cheap phone (4x slower than this machine). Devtools throttling: applied to the real
// requests, not simulated afterwards.
const config = {
  extends: 'lighthouse:default',
  settings: {
    onlyCategories: ['performance', 'accessibility', 'best-practices'],
    formFactor: 'mobile',
    screenEmulation: { mobile: true, width: 360, height: 740, deviceScaleFactor: 2, disabled: false },
    throttlingMethod: 'devtools',
    throttling: {
      rttMs: 400, throughputKbps: 400, requestLatencyMs: 400,
      downloadThroughputKbps: 400, uploadThroughputKbps: 400, cpuSlowdownMultiplier: 4,
    },
  },
};

const browser = await puppeteer.launch({
  executablePath: CHROME,
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--disable-background-networking'],
});

async function audit(name, url, page, flags = {}) {
  const result = await lighthouse(url, { logLevel: 'error', output: 'html', ...flags }, config, page);
  fs.writeFileSync(path.join(outDir, `${name}.html`), result.report);
  const lhr = result.lhr;
  const scores = Object.fromEntries(Object.entries(lhr.categories).map(([k, c]) => [k, Math.round(c.score * 100)]));
  const metrics = Object.fromEntries(['first-contentful-paint', 'largest-contentful-paint', 'total-blocking-time', 'cumulative-layout-shift', 'total-byte-weight']
    .map((id) => [id, lhr.audits[id] && lhr.audits[id].displayValue]));
  const failing = Object.values(lhr.categories).flatMap((c) => c.auditRefs)
    .map((ref) => lhr.audits[ref.id])
    .filter((a) => a && a.score !== null && a.score < 0.9 && a.scoreDisplayMode !== 'informative' && a.scoreDisplayMode !== 'notApplicable' && a.scoreDisplayMode !== 'manual')
    .map((a) => a.id);
  return { name, url, scores, metrics, failing: [...new Set(failing)] };
}

const results = [];
try {
  // 1. The directory, first visit.
  let page = await browser.newPage();
  results.push(await audit('directory', `${base}/`, page));
  await page.close();
  // 2. A meeting's join page, first visit.
  page = await browser.newPage();
  results.push(await audit('join', `${base}/m/${meetingId}`, page));
  await page.close();
  // 3. A live room: join once, then load the page again as a member returning to the tab
  //    (the tab's resume token brings the room straight back). Storage is kept on purpose.
  page = await browser.newPage();
  await page.setViewport({ width: 360, height: 740, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
  await page.goto(`${base}/m/${meetingId}`, { waitUntil: 'networkidle0' });
  await page.type('#name', 'Lighthouse');
  await page.click('#join-btn');
  await page.waitForSelector('.stream li[data-s]', { visible: true, timeout: 15000 });
  results.push(await audit('room', `${base}/m/${meetingId}`, page, { disableStorageReset: true }));
  await page.close();
} finally {
  await browser.close();
}
console.log(JSON.stringify(results));
