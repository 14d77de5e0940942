#!/usr/bin/env node
// A `solc` executable for py-solc-x and brownie, backed by the official compiler from npm (soljson, WebAssembly).
//
// It answers the two calls py-solc-x makes like native solc does:
//   solc --version                         -> "Version: X.Y.Z+commit.H.Emscripten.clang"
//   solc --standard-json [--allow-paths P] [--base-path B] [--include-path I]  (JSON on stdin)
//                                          -> pure JSON on stdout; compile errors live inside the JSON
// and, for slither (crytic-compile), `--combined-json KEYS FILE...`.
// Imports are read from disk as native solc does: relative to the base path (default: cwd), then each include
// path; remappings in the input are applied by the compiler before the callback sees the path.
"use strict";
const fs = require("fs");
const path = require("path");

const SOLC_MODULE = process.env.MARGINLAB_SOLC_MODULE || path.join(__dirname, "..", "..", "node_modules", "solc");

function writeAll(fd, text) {
  // process.stdout is asynchronous for pipes and was seen cut at 64 KiB when the process exits quickly.
  const buf = Buffer.from(text, "utf8");
  let off = 0;
  while (off < buf.length) {
    try {
      off += fs.writeSync(fd, buf, off, buf.length - off);
    } catch (e) {
      if (e.code !== "EAGAIN") throw e;
    }
  }
}

function parseArgs(argv) {
  const opts = { mode: null, basePath: null, includePaths: [], allowPaths: [], combined: null, files: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) fail(`option ${a} needs a value`);
      return argv[++i];
    };
    if (a === "--version") opts.mode = "version";
    else if (a === "--standard-json") opts.mode = "standard-json";
    else if (a === "--combined-json") { opts.mode = "combined-json"; opts.combined = next(); }
    else if (a === "--base-path") opts.basePath = next();
    else if (a === "--include-path") opts.includePaths.push(next());
    else if (a === "--allow-paths") opts.allowPaths.push(...next().split(","));
    else if (a.startsWith("--")) {
      // Output-shaping flags that combined-json callers pass and we can ignore safely.
      if (["--optimize", "--no-color", "--pretty-json"].includes(a)) continue;
      if (["--optimize-runs", "--evm-version"].includes(a)) { opts[a.slice(2)] = next(); continue; }
      fail(`unsupported option ${a} (this is the npm soljson wrapper; see README "Compiler")`);
    } else if (a.includes("=") && !a.endsWith(".sol")) {
      opts.remappings = (opts.remappings || []).concat([a]);
    } else opts.files.push(a);
  }
  return opts;
}

function fail(msg) {
  writeAll(2, `solc (marginlab wrapper): ${msg}\n`);
  process.exit(1);
}

function makeImportCallback(opts) {
  const roots = [opts.basePath || process.cwd(), ...opts.includePaths];
  return function findImport(importPath) {
    const candidates = path.isAbsolute(importPath) ? [importPath] : roots.map((r) => path.resolve(r, importPath));
    for (const c of candidates) {
      try {
        return { contents: fs.readFileSync(c, "utf8") };
      } catch (e) {
        /* try the next root */
      }
    }
    return { error: `File not found. Searched the following locations: ${candidates.map((c) => `"${c}"`).join(", ")}.` };
  };
}

function main() {
  const opts = parseArgs(process.argv.slice(2));
  const solc = require(SOLC_MODULE);
  if (opts.mode === "version") {
    writeAll(1, `solc, the solidity compiler commandline interface\nVersion: ${solc.version()}\n`);
    return;
  }
  if (opts.mode === "standard-json") {
    const input = fs.readFileSync(0, "utf8");
    const out = solc.compile(input, { import: makeImportCallback(opts) });
    writeAll(1, out);
    return;
  }
  if (opts.mode === "combined-json") {
    writeAll(1, combinedJson(solc, opts));
    return;
  }
  fail("expected --version, --standard-json or --combined-json");
}

// Enough of native solc's --combined-json for crytic-compile (slither).
function combinedJson(solc, opts) {
  const keys = opts.combined.split(",");
  const sources = {};
  for (const f of opts.files) sources[f] = { content: fs.readFileSync(f, "utf8") };
  const settings = {
    remappings: opts.remappings || [],
    optimizer: { enabled: Boolean(opts["optimize-runs"]), runs: Number(opts["optimize-runs"] || 200) },
    outputSelection: { "*": { "*": ["abi", "evm.bytecode", "evm.deployedBytecode", "evm.methodIdentifiers", "userdoc", "devdoc"], "": ["ast"] } },
  };
  if (opts["evm-version"]) settings.evmVersion = opts["evm-version"];
  const out = JSON.parse(solc.compile(JSON.stringify({ language: "Solidity", sources, settings }), { import: makeImportCallback(opts) }));
  const errors = (out.errors || []).filter((e) => e.severity === "error");
  if (errors.length) fail(errors.map((e) => e.formattedMessage).join("\n"));
  const contracts = {};
  for (const [file, byName] of Object.entries(out.contracts || {})) {
    for (const [name, c] of Object.entries(byName)) {
      const entry = {};
      if (keys.includes("abi")) entry.abi = c.abi;
      if (keys.includes("bin")) entry.bin = c.evm.bytecode.object;
      if (keys.includes("bin-runtime")) entry["bin-runtime"] = c.evm.deployedBytecode.object;
      if (keys.includes("srcmap")) entry.srcmap = c.evm.bytecode.sourceMap;
      if (keys.includes("srcmap-runtime")) entry["srcmap-runtime"] = c.evm.deployedBytecode.sourceMap;
      if (keys.includes("hashes")) entry.hashes = c.evm.methodIdentifiers;
      if (keys.includes("userdoc")) entry.userdoc = c.userdoc;
      if (keys.includes("devdoc")) entry.devdoc = c.devdoc;
      contracts[`${file}:${name}`] = entry;
    }
  }
  const sourceList = Object.keys(out.sources || {});
  const srcOut = {};
  for (const s of sourceList) srcOut[s] = { AST: out.sources[s].ast };
  return JSON.stringify({ contracts, sourceList, sources: srcOut, version: solc.version() });
}

main();
