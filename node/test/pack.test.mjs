// The package as a user gets it: `npm pack`, installed from the tarball
// into a fresh project with no build step, its examples run from there, and
// its declarations type-checked there.

import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
const packageDir = fileURLToPath(new URL("..", import.meta.url));
const root = path.dirname(packageDir);
const npm = process.platform === "win32" ? "npm.cmd" : "npm";

let work;
let project;
let manifest;
let packed;

before(async () => {
  work = await mkdtemp(path.join(tmpdir(), "websock-pack-"));
  const { stdout } = await run(npm, ["pack", "--json", "--pack-destination", work], { cwd: packageDir });
  [packed] = JSON.parse(stdout);
  project = path.join(work, "project");
  await mkdir(project);
  await writeFile(path.join(project, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }));
  // --offline: the package needs nothing from a registry.
  await run(npm, ["install", "--offline", "--no-audit", "--no-fund", path.join(work, packed.filename)], {
    cwd: project,
  });
  manifest = JSON.parse(await readFile(path.join(project, "node_modules", "websock", "package.json"), "utf8"));
});

after(async () => {
  await rm(work, { recursive: true, force: true });
});

test("the tarball holds the engine, the adapter, the types and the examples, and nothing else", () => {
  const files = packed.files.map((f) => f.path).sort();
  for (const f of ["engine/websock_bg.wasm", "engine/websock.js", "engine/websock.d.ts", "lib/index.js", "index.d.ts"]) {
    assert.ok(files.includes(f), f);
  }
  for (const f of ["examples/echo-server.mjs", "examples/client.mjs", "README.md", "package.json"]) {
    assert.ok(files.includes(f), f);
  }
  for (const f of ["LICENSE-MIT", "LICENSE-APACHE"]) assert.ok(files.includes(f), f);
  const unexpected = files.filter(
    (f) => !/^(engine|lib|examples)\/|^(index\.d\.ts|README\.md|package\.json|LICENSE-MIT|LICENSE-APACHE)$/.test(f),
  );
  assert.deepEqual(unexpected, []);
});

test("its version is the workspace's, and package.json has exports, types and engines", async () => {
  const cargo = await readFile(path.join(root, "Cargo.toml"), "utf8");
  const workspaceVersion = cargo.match(/\[workspace\.package\][^[]*?\nversion = "([^"]+)"/)[1];
  assert.equal(manifest.version, workspaceVersion);
  assert.equal(manifest.name, "websock");
  assert.equal(manifest.type, "module");
  assert.equal(manifest.exports["."].types, "./index.d.ts");
  assert.equal(manifest.exports["./engine"].types, "./engine/websock.d.ts");
  assert.match(manifest.engines.node, /^>=/);
});

test("it carries the root's license texts", async () => {
  for (const f of ["LICENSE-MIT", "LICENSE-APACHE"]) {
    const installed = await readFile(path.join(project, "node_modules", "websock", f), "utf8");
    assert.equal(installed, await readFile(path.join(root, f), "utf8"), f);
  }
});

/** Runs `script` in the project; resolves with the child and its first line of output. */
function start(script, args) {
  const child = spawn(process.execPath, [script, ...args], { cwd: project, stdio: ["ignore", "pipe", "inherit"] });
  const line = new Promise((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`${script} exited with ${code}`)));
    child.stdout.once("data", (d) => resolve(d.toString()));
  });
  return { child, line };
}

test("the examples run from the installed package: echo server and client", { timeout: 60_000 }, async () => {
  await cp(path.join(packageDir, "examples"), path.join(project, "examples"), { recursive: true });
  for (const deflate of [[], ["--no-deflate"]]) {
    const server = start("examples/echo-server.mjs", ["0", ...deflate]);
    try {
      const [, port] = (await server.line).match(/ws:\/\/127\.0\.0\.1:(\d+)/);
      const { stdout } = await run(process.execPath, ["examples/client.mjs", `ws://127.0.0.1:${port}/`], {
        cwd: project,
        timeout: 20_000,
      });
      const lines = stdout.trim().split("\n");
      assert.equal(lines[0], deflate.length ? "open (no extensions)" : "open permessage-deflate");
      assert.deepEqual(lines.slice(1).sort(), ["binary 010203", "close 1000", "pong are you there", "text hello"]);
      // The server's engine answers a close with the code alone.
      assert.equal(lines.at(-1), "close 1000");
    } finally {
      server.child.kill();
    }
  }
});

test("the engine is importable by its subpath", async () => {
  const { stdout } = await run(
    process.execPath,
    [
      "--input-type=module",
      "-e",
      `import { ServerConnection } from "websock/engine"; console.log(new ServerConnection().state);`,
    ],
    { cwd: project },
  );
  assert.equal(stdout.trim(), "handshake");
});

test("the published declarations type-check a ws user's code", { timeout: 600_000 }, async () => {
  const tsc = path.join(packageDir, "node_modules", "typescript", "bin", "tsc");
  await mkdir(path.join(project, "node_modules", "@types"), { recursive: true });
  await symlink(
    path.join(packageDir, "node_modules", "@types", "node"),
    path.join(project, "node_modules", "@types", "node"),
    "dir",
  );
  const source = await readFile(fileURLToPath(new URL("./types/consumer.ts", import.meta.url)), "utf8");
  await writeFile(path.join(project, "consumer.ts"), source);
  // A misuse beside it must be caught, so that the check is not vacuous;
  // one tsc run for both (loading @types/node is most of its time).
  await writeFile(
    path.join(project, "misuse.ts"),
    `import { WebSocket } from "websock";\nnew WebSocket("ws://127.0.0.1:1/").close("1000");\n`,
  );
  const args = ["--noEmit", "--strict", "--target", "es2022", "--module", "nodenext", "--moduleResolution", "nodenext"];
  args.push("--types", "node", "consumer.ts", "misuse.ts");
  const result = await run(process.execPath, [tsc, ...args], { cwd: project }).catch((e) => e);
  const located = result.stdout.split("\n").filter((line) => /^[\w./-]+\.ts\(/.test(line));
  const said = `tsc said:\n${result.stdout}${result.stderr}`;
  assert.ok(located.length >= 1 && located.every((line) => line.startsWith("misuse.ts(2,")), said);
  assert.notEqual(result.code ?? 0, 0);
});
