// The built-in page of `websock serve` in a real browser: Debian's
// chromium, headless, driven by playwright-core (pinned in package.json).
// Loads the page, sends text, sees the echo and its round-trip time,
// checks that permessage-deflate was negotiated, closes cleanly (wasClean,
// 1000) and saves a screenshot in tests/reports/page.png. Then a
// `new WebSocket(url, ["chat"])` against `serve --protocol chat`.
//
//   WEBSOCK_BIN=target/release/websock node --test tests/page/page.test.mjs

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { createInterface } from "node:readline";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
const reports = join(here, "..", "reports");
const bin = process.env.WEBSOCK_BIN;
assert.ok(bin, "WEBSOCK_BIN must name the websock binary");
const TIMEOUT = 15_000;

const servers = [];

/** Starts `websock serve --ws 127.0.0.1:0 --no-wss ARGS`; resolves to its ws:// address. */
function serve(args = []) {
  const child = spawn(bin, ["serve", "--ws", "127.0.0.1:0", "--no-wss", ...args], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  servers.push(child);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("no start line")), TIMEOUT);
    createInterface({ input: child.stdout }).once("line", (line) => {
      clearTimeout(timer);
      const m = line.match(/ws:\/\/(\S+)/);
      m ? resolve(m[1]) : reject(new Error(`no address in ${line}`));
    });
    child.once("exit", (code) => reject(new Error(`websock serve exited ${code}`)));
  });
}

let context;
let profile;

before(async () => {
  profile = mkdtempSync(join(tmpdir(), "websock-chromium-"));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: "/usr/bin/chromium",
    headless: true,
    timeout: TIMEOUT,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
});

after(async () => {
  await context?.close();
  for (const s of servers) s.kill();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

test("the page echoes, shows round trips and deflate, and closes cleanly", async () => {
  const addr = await serve();
  const page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT);
  const response = await page.goto(`http://${addr}/`);
  assert.equal(response.status(), 200);
  assert.match(await page.title(), /websock/);
  await page.waitForFunction(() => document.getElementById("state").textContent === "open");
  assert.match(await page.textContent("#extensions"), /^permessage-deflate/);
  assert.match(await page.textContent("#server"), /websock \d+\.\d+\.\d+/);
  for (const text of ["hello from chromium", "ünïcödé ✓"]) {
    await page.fill("#text", text);
    await page.press("#text", "Enter");
    await page.waitForSelector(`#log .in >> text=< ${text}`);
  }
  const state = await page.evaluate(() => window.websockPage);
  assert.equal(state.echoes, 2);
  assert.ok(state.lastRtt > 0, `round trip ${state.lastRtt}`);
  assert.match(await page.textContent("#rtt"), /^\d+\.\d\d ms$/);
  mkdirSync(reports, { recursive: true });
  await page.screenshot({ path: join(reports, "page.png"), fullPage: true });
  await page.click("#close");
  await page.waitForFunction(() => window.websockPage.closed !== null);
  const closed = await page.evaluate(() => window.websockPage.closed);
  assert.equal(closed.code, 1000);
  assert.equal(closed.wasClean, true);
  assert.match(await page.textContent("#state"), /^closed: 1000 \(clean\)$/);
  await page.screenshot({ path: join(reports, "page-closed.png"), fullPage: true });
  await page.close();
});

/** In the browser: opens a WebSocket offering `protocols`, echoes once, closes. */
async function tryProtocols(addr, protocols) {
  const page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT);
  // Any page of the origin will do: the built-in one is there.
  await page.goto(`http://${addr}/`);
  const result = await page.evaluate(
    ({ url, protocols }) =>
      new Promise((resolve) => {
        const ws = new WebSocket(url, protocols);
        let protocol = null;
        let echo = null;
        ws.onopen = () => {
          protocol = ws.protocol;
          ws.send("sub");
        };
        ws.onmessage = (e) => {
          echo = e.data;
          ws.close(1000);
        };
        ws.onclose = (e) => resolve({ protocol, echo, code: e.code, wasClean: e.wasClean });
      }),
    { url: `ws://${addr}/`, protocols },
  );
  await page.close();
  return result;
}

test("new WebSocket(url, ['chat']) against serve --protocol chat", async () => {
  const addr = await serve(["--protocol", "chat"]);
  assert.deepEqual(await tryProtocols(addr, ["chat"]), {
    protocol: "chat",
    echo: "sub",
    code: 1000,
    wasClean: true,
  });
  assert.deepEqual(await tryProtocols(addr, ["v2", "chat"]), {
    protocol: "chat",
    echo: "sub",
    code: 1000,
    wasClean: true,
  });
  // Without --protocol the server chooses none, and the browser must fail
  // the connection (RFC 6455 section 4.1): this is what users met before.
  const plain = await serve();
  const refused = await tryProtocols(plain, ["chat"]);
  assert.equal(refused.code, 1006);
  assert.equal(refused.protocol, null);
});
