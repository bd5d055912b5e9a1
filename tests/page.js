#!/usr/bin/env node
// The page (GET /) in a real browser: headless Chromium (Debian's `chromium`)
// driven by puppeteer-core (pinned in package-lock.json). Starts `tabserve serve`
// with the built-in model, loads the page, checks the seed's passenger is filled
// in and its prediction shown equals POST /model's, changes a field and checks
// the new prediction and the explanation, and that the page asked for nothing
// from anywhere else. `--screenshot FILE` also saves the page (the README's).
"use strict";
const { spawn, execFileSync } = require("child_process");
const fs = require("fs");
const net = require("net");
const path = require("path");

const BIN = path.resolve(process.env.BIN || "build/tabserve");
const CHROMIUM = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find((p) => fs.existsSync(p));
let puppeteer;
try {
  puppeteer = require("puppeteer-core");
} catch (e) {
  console.log("SKIPPED: puppeteer-core is not installed (run npm ci): the page was not tested in a browser");
  process.exit(0);
}
if (!CHROMIUM) {
  console.log("SKIPPED: chromium is not installed (apt-get install chromium): the page was not tested in a browser");
  process.exit(0);
}

const freePort = () =>
  new Promise((resolve) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

// Node's fetch keeps connections alive between calls; while the browser works the
// server closes an idle one (--keep-alive, 2 s) and the next call can meet it closing:
// a request refused that way is sent again, once, on a new connection (POST /model
// is side-effect free).
async function post(base, route, body) {
  const send = () => fetch(base + route, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  let r;
  try {
    r = await send();
  } catch (e) {
    r = await send();
  }
  return r.json();
}

function check(ok, what) {
  if (!ok) throw new Error("FAIL " + what);
  console.log("ok   " + what);
}

(async () => {
  const port = await freePort(), base = `http://127.0.0.1:${port}`;
  const server = spawn(BIN, ["serve", "-w", "1", "-b", `127.0.0.1:${port}`], { stdio: ["ignore", "ignore", "inherit"] });
  let browser;
  try {
    for (let i = 0; i < 200; i++) {
      try {
        if ((await fetch(base + "/readyz")).ok) break;
      } catch (e) {}
      await new Promise((r) => setTimeout(r, 25));
    }
    browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox", "--disable-gpu"] });
    const page = await browser.newPage();
    await page.setViewport({ width: 1100, height: 760 });
    const elsewhere = [];
    page.on("request", (r) => {
      if (!r.url().startsWith(base)) elsewhere.push(r.url());
    });
    await page.goto(base + "/", { waitUntil: "networkidle0" });
    const shown = async () => page.$eval("#prediction", (e) => e.textContent);
    await page.waitForFunction(() => /^[0-9.]+$/.test(document.querySelector("#prediction").textContent));

    const seed = { Age: 22, Fare: 7.25, Embarked: "S", Sex: "male", Pclass: 3 };
    const fields = await page.$$eval("#form input, #form select", (es) => Object.fromEntries(es.map((e) => [e.name, e.value])));
    check(JSON.stringify(fields) === JSON.stringify({ Age: "22", Fare: "7.25", Sex: "male", Embarked: "S", Pclass: "3" }),
          "the form is the model's five inputs, the seed's passenger filled in: " + JSON.stringify(fields));
    const want = (await post(base, "/model", seed)).predict;
    check((await shown()) === want.toFixed(4), `the page shows POST /model's prediction (${want.toFixed(4)})`);

    // change a field: a woman in the same cabin class
    await page.select("#input-Sex", "female");
    await page.waitForFunction((old) => document.querySelector("#prediction").textContent !== old, {}, await shown());
    const now = await shown(), female = (await post(base, "/model", { ...seed, Sex: "female" })).predict;
    check(now === female.toFixed(4), `after Sex -> female the page shows POST /model's new prediction (${now})`);
    await page.type("#input-Age", "0"); // Age 220: refused, the message shown
    await page.waitForFunction(() => document.querySelector("#error").textContent.length > 0).catch(() => {});
    await page.$eval("#input-Age", (e) => { e.value = "30"; e.dispatchEvent(new Event("input")); });
    await page.waitForFunction(() => document.querySelector("#error").textContent === "");

    const explained = await post(base, "/model/explain", { ...seed, Sex: "female", Age: 30 });
    await page.waitForFunction((p) => document.querySelector("#prediction").textContent === p, {}, explained.predict.toFixed(4));
    const bars = await page.$$eval(".bar-row", (rs) => rs.map((r) => [r.dataset.input, r.querySelector(".num").textContent]));
    check(bars.length === 5, "the explanation has a bar per input: " + bars.map((b) => b.join(" ")).join(", "));
    for (const [name, text] of bars)
      check(Math.abs(Number(text) - explained.contributions[name]) < 1e-4, `bar ${name} is POST /model/explain's contribution (${text})`);
    const sum = await page.$eval("#sum", (e) => e.textContent);
    check(sum.includes("base " + explained.base.toFixed(4)), "the base value is shown: " + sum);
    check(elsewhere.length === 0, "the page loaded nothing from elsewhere " + JSON.stringify(elsewhere));

    const i = process.argv.indexOf("--screenshot");
    if (i > 0) {
      await page.select("#input-Sex", "male");
      await page.$eval("#input-Age", (e) => { e.value = "22"; e.dispatchEvent(new Event("input")); });
      await page.waitForFunction((p) => document.querySelector("#prediction").textContent === p, {}, want.toFixed(4));
      await page.screenshot({ path: process.argv[i + 1] });
      console.log("wrote " + process.argv[i + 1]);
    }
    // any model: a GBT trained here on three numeric inputs (its form starts from the background's medians)
    const dir = fs.mkdtempSync(path.join(require("os").tmpdir(), "tabserve-page-"));
    let csv = "a,b,c,y\n";
    for (let i = 0; i < 300; i++) {
      const a = Math.sin(i), b = Math.cos(3 * i), c = ((i * 37) % 11) / 5 - 1;
      csv += `${a.toFixed(4)},${b.toFixed(4)},${c.toFixed(4)},${a + b - c > 0 ? 1 : 0}\n`;
    }
    fs.writeFileSync(path.join(dir, "d.csv"), csv);
    execFileSync(BIN, ["train", path.join(dir, "d.csv"), "--label", "y", "--numeric", "a,b,c", "--model", "gbt",
                       "--trees", "20", "--threads", "1", "-o", path.join(dir, "gbt.json")], { stdio: "ignore" });
    const port2 = await freePort(), base2 = `http://127.0.0.1:${port2}`;
    const other = spawn(BIN, ["serve", path.join(dir, "gbt.json"), "-b", `127.0.0.1:${port2}`], { stdio: "ignore" });
    try {
      for (let i = 0; i < 200; i++) {
        try { if ((await fetch(base2 + "/readyz")).ok) break; } catch (e) {}
        await new Promise((r) => setTimeout(r, 25));
      }
      await page.goto(base2 + "/", { waitUntil: "networkidle0" });
      await page.waitForFunction(() => /^[0-9.]+$/.test(document.querySelector("#prediction").textContent));
      const names = await page.$$eval("#form input, #form select", (es) => es.map((e) => e.name));
      check(JSON.stringify(names) === '["a","b","c"]', "for another model the form is its inputs: " + names.join(", "));
      const start = await page.$$eval("#form input", (es) => es.map((e) => e.value));
      const bg = (await (await fetch(base2 + "/model")).json()).metadata.background;
      const median = (name) => { const v = bg.map((r) => r[name]).sort((x, y) => x - y); return v[Math.floor((v.length - 1) / 2)]; };
      check(bg.length === 24 && JSON.stringify(start.map(Number)) === JSON.stringify(["a", "b", "c"].map(median)),
            "its form starts from a typical row, each input's median over the background rows: " + start.join(", "));
      await page.$eval("#input-a", (e) => { e.value = "0.9"; e.dispatchEvent(new Event("input")); });
      const row = await page.$$eval("#form input", (es) => Object.fromEntries(es.map((e) => [e.name, Number(e.value)])));
      const g = (await post(base2, "/model/explain", row));
      await page.waitForFunction((p) => document.querySelector("#prediction").textContent === p, {}, g.predict.toFixed(4));
      const how = await page.$eval("#space", (e) => e.textContent);
      check(how.includes("tree_path_dependent"), `its prediction and TreeSHAP explanation are shown (${g.predict.toFixed(4)}, ${how})`);
    } finally {
      other.kill("SIGTERM");
      fs.rmSync(dir, { recursive: true, force: true });
    }
    console.log("page: all passed");
  } catch (e) {
    console.error(e.message || e);
    process.exitCode = 1;
  } finally {
    if (browser) await browser.close();
    server.kill("SIGTERM");
  }
})();
