// Times OpenClaw's evaluateShellAllowlist on a command mix (used by benchmarks/analysis.py).
// Usage: node _openclaw_bench.mjs <openclaw package dir> <input.json>
import fs from "node:fs"; import path from "node:path"; import { pathToFileURL } from "node:url";
const [pkg, input] = process.argv.slice(2);
const { mix, patterns, cwd, env, seconds } = JSON.parse(fs.readFileSync(input, "utf8"));
const dist = path.join(pkg, "dist");
let fn = null;
for (const file of fs.readdirSync(dist)) {
  if (!file.endsWith(".js")) continue;
  const text = fs.readFileSync(path.join(dist, file), "utf8");
  if (!text.includes("function evaluateShellAllowlist(")) continue;
  const mod = await import(pathToFileURL(path.join(dist, file)).href);
  for (const v of Object.values(mod)) if (typeof v === "function" && v.name === "evaluateShellAllowlist") fn = v;
  if (fn) break;
}
const allowlist = patterns.map((pattern) => ({ pattern }));
const run = (c) => fn({ command: c, allowlist, safeBins: new Set(["cut","uniq","head","tail","tr","wc"]), cwd, env, platform: "linux" });
for (const c of mix) run(c);
let eps = 0;
for (let round = 0; round < 5; round++) {  // best of 5 rounds, as the Python side does
  let n = 0; const start = process.hrtime.bigint(); const limit = BigInt(Math.round(seconds * 2e8));
  while (process.hrtime.bigint() - start < limit) { for (const c of mix) run(c); n += mix.length; }
  eps = Math.max(eps, n / (Number(process.hrtime.bigint() - start) / 1e9));
}
const samples = [];
for (let i = 0; i < 200; i++) for (const c of mix) { const t0 = process.hrtime.bigint(); run(c); samples.push(Number(process.hrtime.bigint() - t0) / 1000); }
samples.sort((a, b) => a - b);
console.log(JSON.stringify({ eps, p50_us: samples[samples.length >> 1], p99_us: samples[Math.floor(samples.length * 0.99)] }));
