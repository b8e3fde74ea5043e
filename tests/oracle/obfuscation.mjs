// Runs OpenClaw 2026.4.1's own detectCommandObfuscation (src/infra/exec-obfuscation-detect.ts).
// The function is bundled into a dist chunk without being exported, so its #region (which
// references nothing outside itself) is cut out of that chunk and evaluated on its own.
// Usage: node obfuscation.mjs PACKAGE_DIR < commands.jsonl  (one JSON string a line)
// Prints one JSON answer a line: {"detected": bool, "matchedPatterns": [...]}.
import fs from "node:fs";
import path from "node:path";
import readline from "node:readline";

const dist = path.join(process.argv[2], "dist");
const START = "//#region src/infra/exec-obfuscation-detect.ts";
let source = null;
for (const name of fs.readdirSync(dist)) {
  if (!name.endsWith(".js") && !name.endsWith(".mjs")) continue;
  const text = fs.readFileSync(path.join(dist, name), "utf8");
  const at = text.indexOf(START);
  if (at < 0) continue;
  const end = text.indexOf("//#endregion", at);
  source = text.slice(at, end);
  break;
}
if (source === null) {
  console.error("exec-obfuscation-detect region not found under " + dist);
  process.exit(2);
}
const detect = new Function(source + "\nreturn detectCommandObfuscation;")();
const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const line of rl) {
  if (!line.trim()) continue;
  const r = detect(JSON.parse(line));
  process.stdout.write(JSON.stringify({ detected: r.detected, matchedPatterns: r.matchedPatterns }) + "\n");
}
