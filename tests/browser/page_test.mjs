// Drives the vowelseg page in headless chromium: upload, align, look, listen, download.
// Usage: node page_test.mjs URL AUDIO TRANSCRIPT OUT_DIR  -> one JSON line on stdout.
import { chromium } from "playwright-core";

const [url, audio, transcript, outDir] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--autoplay-policy=no-user-gesture-required"],
});
try {
  const page = await browser.newPage({ acceptDownloads: true });
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  const posts = [];
  page.on("response", (r) => {  // what each POST returned
    if (r.request().method() === "POST") { posts.push(r.headers()["content-type"].split(";")[0]); }
  });
  await page.goto(url);
  await page.setInputFiles("#file", audio);
  await page.fill("#transcript", transcript);
  await page.click("#align");
  await page.waitForFunction(() => document.getElementById("status").textContent === "Done.",
    null, { timeout: 60000 });
  const drawn = await page.$$eval("#overlay .vowel", (els) => els.map((e) => {
    const r = e.getBoundingClientRect();
    return { left: r.left, width: r.width, title: e.title };
  }));
  const image = await page.$eval("#png", (img) => img.complete && img.naturalWidth);
  const chart = await page.$eval("#chart", (c) => ({
    hidden: c.hidden,
    tokens: c.querySelectorAll("circle.token").length,
    labels: [...c.querySelectorAll("text.mean")].map((t) => t.textContent),
  }));
  const postsPerAlign = posts.slice();
  const durations = {};
  for (const id of ["original", "vowels"]) {
    durations[id] = await page.$eval(`#${id}`, (a) => new Promise((resolve) => {
      if (a.readyState >= 1 && Number.isFinite(a.duration)) { resolve(a.duration); return; }
      a.addEventListener("loadedmetadata", () => resolve(a.duration), { once: true });
      a.addEventListener("error", () => resolve(-1), { once: true });
      a.load();
    }));
  }
  const played = await page.$eval("#vowels", (a) => a.play().then(() => true, (e) => String(e)));
  const saved = {};
  for (const id of ["dl-json", "dl-textgrid", "dl-wav", "dl-png", "dl-csv", "dl-chart"]) {
    const [download] = await Promise.all([page.waitForEvent("download"), page.click(`#${id}`)]);
    saved[id] = `${outDir}/${download.suggestedFilename()}`;
    await download.saveAs(saved[id]);
  }
  console.log(JSON.stringify({ drawn, image, chart, durations, played, saved, errors,
                               postsPerAlign, posts }));
} finally {
  await browser.close();
}
