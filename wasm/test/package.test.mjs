// The built package as a user gets it: imported by name through its
// package.json (ESM, no bundler), with TypeScript declarations that
// type-check real usage.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, mkdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
const wasmDir = fileURLToPath(new URL("..", import.meta.url));
const pkg = path.join(wasmDir, "pkg");

/** A scratch project with the package installed under node_modules. */
async function project() {
  const dir = await mkdtemp(path.join(tmpdir(), "websock-wasm-"));
  await mkdir(path.join(dir, "node_modules"));
  await symlink(pkg, path.join(dir, "node_modules", "websock-wasm"), "dir");
  return dir;
}

test("package.json describes an ES module with declarations", async () => {
  const manifest = JSON.parse(await readFile(path.join(pkg, "package.json"), "utf8"));
  assert.equal(manifest.name, "websock-wasm");
  assert.equal(manifest.type, "module");
  assert.equal(manifest.exports["."].types, "./websock.d.ts");
  for (const file of manifest.files) await readFile(path.join(pkg, file));
  const dts = await readFile(path.join(pkg, "websock.d.ts"), "utf8");
  for (const name of ["class ServerConnection", "class ClientConnection", "type WebSocketEvent", "interface WebSockError"]) {
    assert.ok(dts.includes(name), name);
  }
});

test("Node imports the package by name, with no bundler", { timeout: 30_000 }, async () => {
  const dir = await project();
  try {
    const script = path.join(dir, "main.mjs");
    await writeFile(
      script,
      `import { ServerConnection, ClientConnection } from "websock-wasm";
       const c = new ClientConnection(); const s = new ServerConnection();
       c.writeRequest("h", "/"); s.accept(c.takeOutput()); c.readResponse(s.takeOutput());
       c.sendText("by name"); console.log(JSON.stringify(s.receive(c.takeOutput())));`,
    );
    const { stdout } = await run(process.execPath, [script], { cwd: dir });
    assert.deepEqual(JSON.parse(stdout), [{ type: "text", data: "by name" }]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("the TypeScript declarations type-check real usage", { timeout: 120_000 }, async () => {
  const tsc = path.join(wasmDir, "node_modules", "typescript", "bin", "tsc");
  const dir = await project();
  try {
    const source = await readFile(fileURLToPath(new URL("./types/consumer.ts", import.meta.url)), "utf8");
    await writeFile(path.join(dir, "consumer.ts"), source);
    const args = ["--noEmit", "--strict", "--target", "es2022", "--module", "nodenext", "--moduleResolution", "nodenext"];
    args.push("--lib", "es2022,esnext.disposable,dom", "consumer.ts");
    const result = await run(process.execPath, [tsc, ...args], { cwd: dir }).catch((e) => e);
    assert.equal(result.code ?? 0, 0, `tsc failed:\n${result.stdout}${result.stderr}`);
    // And a misuse is caught, so the check above is not vacuous.
    await writeFile(path.join(dir, "consumer.ts"), `${source}\nnew ServerConnection().sendText(42);\n`);
    const bad = await run(process.execPath, [tsc, ...args], { cwd: dir }).catch((e) => e);
    assert.notEqual(bad.code ?? 0, 0, "tsc accepted sendText(42)");
    assert.match(bad.stdout, /consumer\.ts/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
