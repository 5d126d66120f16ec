// Drives the vowelseg page in headless chromium and prints what it saw as one JSON
// line; tests/service/test_browser.py compares that with the API's own replies.
// Usage: node page_test.mjs URL PLAN_JSON
//   PLAN_JSON names three alignments, each {audio, transcript}: "short" (defaults,
//   measures on), "options" (every option changed), "long" (>= 60 s, zoomed), and
//   outDir, where the downloads are saved.
import { readFileSync } from "node:fs";
import { chromium } from "playwright-core";

const [url, planPath] = process.argv.slice(2);
const plan = JSON.parse(readFileSync(planPath, "utf8"));
const started = Date.now();
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--autoplay-policy=no-user-gesture-required"],
});
const report = {};
try {
  const page = await browser.newPage({ acceptDownloads: true, viewport: { width: 1280, height: 900 } });
  const errors = [], foreign = [], posts = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("console", (m) => { if (m.type() === "error") { errors.push(m.text()); } });
  page.on("request", (r) => {  // anything not from this server (the page must work offline)
    if (!/^(blob|data):/.test(r.url()) && !r.url().startsWith(url)) { foreign.push(r.url()); }
  });
  // Every POST /segment, as its form fields. Chromium leaves the file's bytes out of
  // the intercepted body but keeps the text fields; continue() sends the real body.
  await page.route("**/segment", async (route) => {
    const body = route.request().postDataBuffer()?.toString("latin1") ?? "";
    posts.push(Object.fromEntries([...body.matchAll(/name="([^"]+)"\r\n\r\n([^\r]*)\r\n/g)]
      .map((m) => [m[1], m[2]])));
    await route.continue();
  });
  const since = (mark) => posts.slice(mark);

  // Sets the form's options (by API field name), then aligns: the POSTs between
  // the click and "Done.", and the time it took.
  async function align({ audio, transcript }, options = {}) {
    await page.setInputFiles("#file", audio);
    await page.fill("#transcript", transcript);
    for (const [name, value] of Object.entries(options)) {
      const control = page.locator(`[name="${name}"]`);
      if (typeof value === "boolean") { await control.setChecked(value); }
      else if (await control.evaluate((el) => el.tagName === "SELECT")) { await control.selectOption(String(value)); }
      else { await control.fill(String(value)); }
    }
    const mark = posts.length, t0 = Date.now();
    await page.click("#align");
    const status = await page.waitForFunction(() => {
      const s = document.getElementById("status");
      return (s.textContent === "Done." || s.className === "error") && s.textContent;
    }, null, { timeout: 90000 });
    const text = await status.jsonValue();
    if (text !== "Done.") { throw new Error(`alignment failed: ${text}`); }
    return { posts: since(mark), ms: Date.now() - t0 };
  }

  // The picture as laid out: the track's scroll geometry and zoom, every vowel box
  // (x and width in px from the track's start), and, per lane, the labels shown:
  // how many, how many overlap the next one, how many stick out of their interval.
  const picture = () => page.evaluate(() => {
    const scroller = document.getElementById("scroller"), track = document.getElementById("track");
    const origin = track.getBoundingClientRect().left;
    const boxes = [...document.querySelectorAll("#marks .vowel")].map((b) => {
      const r = b.getBoundingClientRect();
      return { i: Number(b.dataset.i), band: b.className.match(/band-(\w+)/)[1],
               colour: getComputedStyle(b).backgroundColor, x: r.left - origin, w: r.width,
               shown: b.checkVisibility() };
    });
    const labels = {};
    for (const lane of ["vowel", "word"]) {
      const spans = [...document.querySelectorAll(`#marks .${lane} .label`)];
      const shown = spans.filter((l) => l.checkVisibility()).map((l) => {
        const r = l.getBoundingClientRect(), box = l.parentElement.getBoundingClientRect();
        return { left: r.left, right: r.right, inside: r.left >= box.left - 0.5 && r.right <= box.right + 0.5 };
      }).sort((a, b) => a.left - b.left);
      labels[lane] = { total: spans.length, shown: shown.length,
                       overlaps: shown.filter((l, k) => k && l.left < shown[k - 1].right - 0.01).length,
                       outside: shown.filter((l) => !l.inside).length };
    }
    // the waveform as drawn: per pixel column of its lane, the height of the bar
    // in the waveform's colour (0 where nothing was drawn: e.g. audio not decoded)
    const wave = document.getElementById("wave"), dpr = window.devicePixelRatio || 1;
    const lane = Math.round(LANE.wave * dpr), pixels = wave.getContext("2d")
      .getImageData(0, 0, wave.width, lane).data;
    const heights = [];
    for (let x = 0; x < wave.width; x++) {
      let inked = 0;
      for (let y = 0; y < lane; y++) {
        const i = 4 * (y * wave.width + x);
        if (Math.abs(pixels[i] - 61) + Math.abs(pixels[i + 1] - 95) + Math.abs(pixels[i + 2] - 143) < 30) {
          inked++;
        }
      }
      heights.push(inked / dpr);
    }
    return { scrollWidth: scroller.scrollWidth, clientWidth: scroller.clientWidth,
             waveColumns: heights.length, waveInked: heights.filter((h) => h >= 1).length,
             waveTall: heights.filter((h) => h >= 10).length,
             scrollLeft: scroller.scrollLeft, pps: parseFloat(track.style.getPropertyValue("--pps")),
             drawnFrom: Number(document.getElementById("wave").dataset.from), boxes, labels };
  });
  const rows = () => page.$$eval("#vowel-rows tr", (trs) => trs.map((tr) => ({
    cells: [...tr.cells].map((c) => c.textContent), band: tr.cells[4].className.match(/band-(\w+)/)[1],
    colour: getComputedStyle(tr.cells[4]).backgroundColor, shown: !tr.hidden })));
  const warnings = () => page.$eval("#warnings", (w) => ({
    shown: w.checkVisibility(), items: [...w.querySelectorAll("li")].map((li) => li.textContent) }));
  const duration = (id) => page.$eval(`#${id}`, (a) => new Promise((resolve) => {
    if (a.readyState >= 1 && Number.isFinite(a.duration)) { resolve(a.duration); return; }
    a.addEventListener("loadedmetadata", () => resolve(a.duration), { once: true });
    a.addEventListener("error", () => resolve(-1), { once: true });
  }));
  let saves = 0;
  async function download(id) {  // the saved file (a new name each time) and the POSTs its click made
    const mark = posts.length;
    const [file] = await Promise.all([page.waitForEvent("download"), page.click(`#${id}`)]);
    const path = `${plan.outDir}/${++saves}-${file.suggestedFilename()}`;
    await file.saveAs(path);
    return { path, posts: since(mark) };
  }
  async function playVowels() {  // the POSTs the button made and the audio's length
    const mark = posts.length;
    await page.click("#play-vowels");
    await page.waitForFunction(() => !document.getElementById("vowels").hidden);
    return { posts: since(mark), duration: await duration("vowels") };
  }
  const frames = () => page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));

  await page.goto(url);
  const fav = await page.request.get(new URL("favicon.ico", url).href);
  report.favicon = { status: fav.status(), type: fav.headers()["content-type"],
                     body: (await fav.text()).slice(0, 200),
                     link: await page.$eval("link[rel=icon]", (l) => l.href) };
  await page.waitForFunction(() => document.getElementById("server").textContent.startsWith("Server:"));
  report.server = await page.textContent("#server");
  // the form's options before any change, as the page would send them
  report.initialFields = await page.evaluate(() => ({ ...fieldsOf("align"), ...fieldsOf("wav") }));
  report.legend = await page.$$eval(".legend [class^=band-]", (els) => Object.fromEntries(
    els.map((e) => [e.className.slice(5), getComputedStyle(e.querySelector(".swatch")).backgroundColor])));

  // 1. A short recording with the defaults and measures on.
  const short = report.short = await align(plan.short, { measures: true });
  const aligned = posts.length;
  short.picture = await picture();
  short.rows = await rows();
  short.warnings = await warnings();
  short.measureHeaders = await page.$$eval("th.m", (ths) => ths.map((th) => !th.hidden));
  short.chart = await page.$eval("#chart", (c) => ({
    hidden: c.hidden, tokens: c.querySelectorAll("circle.token").length,
    labels: [...c.querySelectorAll("text.mean")].map((t) => t.textContent) }));
  // the confidence filter, then back to showing all
  await page.$eval("#min-confidence", (el) => { el.value = "0.5"; el.dispatchEvent(new Event("input")); });
  short.filtered = { threshold: 0.5, hiddenCount: await page.textContent("#hidden-count"),
                     boxes: (await picture()).boxes.filter((b) => !b.shown).map((b) => b.i),
                     rows: (await rows()).flatMap((r, i) => (r.shown ? [] : [i])) };
  await page.$eval("#min-confidence", (el) => { el.value = "0"; el.dispatchEvent(new Event("input")); });
  short.unfilteredCount = await page.textContent("#hidden-count");
  // clicking a vowel box plays that span of the original, then stops
  await duration("original");
  short.spanPlayed = await page.evaluate(async (i) => {
    const box = document.querySelector(`#marks .vowel[data-i="${i}"]`), player = document.getElementById("original");
    const stopped = new Promise((resolve) => player.addEventListener("pause", () => resolve(player.currentTime), { once: true }));
    box.click();
    const marked = box.classList.contains("playing");
    const at = await Promise.race([stopped, new Promise((resolve) => setTimeout(() => resolve(null), 5000))]);
    return { i, marked, stoppedAt: at, unmarked: !box.classList.contains("playing") };
  }, 3);
  short.originalDuration = await duration("original");
  short.postsBeforeDownloads = posts.length - aligned;  // nothing fetched since the alignment
  short.downloads = {};
  for (const id of ["dl-json", "dl-textgrid", "dl-wav", "dl-png", "dl-csv", "dl-chart"]) {
    short.downloads[id] = await download(id);
  }
  short.downloadsAgain = { "dl-textgrid": (await download("dl-textgrid")).posts };
  short.playVowels = await playVowels();  // the WAV the download fetched: no new POST
  short.vowelsPlayed = await page.$eval("#vowels", (a) => a.play().then(() => true, (e) => String(e)));

  // 2. Every option changed, with a transcript that adds a word and leaves one out.
  const options = report.options = await align(plan.options, {
    measures: false, transcript_match: "approximate", boundaries: "viterbi", vad_aggressiveness: 2,
    vtln: false, speech_check: false, mode: "mask", fade_ms: 10 });
  options.picture = await picture();
  options.warnings = await warnings();
  options.measureHeaders = await page.$$eval("th.m", (ths) => ths.map((th) => !th.hidden));
  options.playVowels = await playVowels();
  options.originalDuration = await duration("original");
  options.wavDownload = (await download("dl-wav")).posts;  // shares the player's fetch
  await page.selectOption('[name="mode"]', "concat");  // a new WAV setting fetches anew
  options.concatDownload = await download("dl-wav");

  // 3. A recording of a minute or more: fit, zoom in four times, scroll, zoom about the centre.
  const long = report.long = await align(plan.long, {
    transcript_match: "exact", boundaries: "posterior", vad_aggressiveness: 3, vtln: true,
    speech_check: true });
  long.levels = [await picture()];
  long.zoomMs = [];
  for (let k = 0; k < 4; k++) {
    long.zoomMs.push(await page.evaluate(() => {  // the click's work, layout included
      const t0 = performance.now();
      document.getElementById("zoom-in").click();
      void document.getElementById("scroller").scrollWidth;
      return performance.now() - t0;
    }));
    long.levels.push(await picture());
  }
  long.scroll = await page.evaluate(() => {
    const s = document.getElementById("scroller");
    s.scrollLeft = Math.round((s.scrollWidth - s.clientWidth) / 3);
    return s.scrollLeft;
  });
  await frames();
  long.scrolled = await picture();
  await page.click("#zoom-in");
  long.zoomedAbout = await picture();
  await page.click("#zoom-fit");
  long.refitted = await picture();
  long.zoomOutDisabled = await page.$eval("#zoom-out", (b) => b.disabled);

  report.errors = errors;
  report.foreign = foreign;
  report.postsTotal = posts.length;
  report.ms = Date.now() - started;
  console.log(JSON.stringify(report));
} finally {
  await browser.close();
}
