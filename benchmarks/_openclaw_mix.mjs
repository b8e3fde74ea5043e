// The shared harness's loop (../shared/bench/openclaw_eval_bench.mjs) on OpenClaw's own
// evaluateShellAllowlist, plus a second pass that times every evaluation and sums the time
// per command of the mix (used by benchmarks/analysis.py --harness).
// Usage: node _openclaw_mix.mjs <openclaw package dir> <bin dir> <n> <commands.json>
import fs from "node:fs"; import path from "node:path"; import { pathToFileURL } from "node:url";
const [pkg, bin, nText, cmdsFile] = process.argv.slice(2);
const n = Number(nText);
const dist = path.join(pkg, "dist"); let evalShell;
for (const f of fs.readdirSync(dist)) {
  if (!/\.(m?js)$/.test(f)) continue;
  const t = fs.readFileSync(path.join(dist, f), "utf8");
  if (!t.includes("function evaluateShellAllowlist(")) continue;
  const m = await import(pathToFileURL(path.join(dist, f)).href);
  for (const v of Object.values(m)) if (typeof v === "function" && v.name === "evaluateShellAllowlist") evalShell = v;
  if (evalShell) break;
}
const cmds = JSON.parse(fs.readFileSync(cmdsFile, "utf8"));
const allowlist = Array.from({ length: 50 }, (_, i) => ({ pattern: `${bin}/tool${i}` })).concat([{ pattern: `${bin}/ls` }, { pattern: `${bin}/git` }, { pattern: `${bin}/rg` }]);
const ctx = { allowlist, safeBins: new Set(["wc", "head"]), cwd: "/tmp", env: { PATH: bin }, platform: "linux" };
let ok = 0; for (const c of cmds) evalShell({ command: c, ...ctx });
const c0 = process.cpuUsage(); const t0 = process.hrtime.bigint();
for (let i = 0; i < n; i++) { const r = evalShell({ command: `${cmds[i % cmds.length]} n${i}`, ...ctx }); if (r.allowlistSatisfied) ok++; }
const dt = Number(process.hrtime.bigint() - t0) / 1e9;
const cpu = process.cpuUsage(c0); const cpuSeconds = (cpu.user + cpu.system) / 1e6;
// Per command: blocks of 50 evaluations of one command, cycling through the mix; wall and
// CPU time per block (CPU time moves much less than wall time on a loaded machine).
const per = new Array(cmds.length).fill(0); const perCpu = new Array(cmds.length).fill(0);
const block = 50; let k = 0;
for (let done = 0; done < n; done += block) {
  const j = (done / block) % cmds.length;
  const c0b = process.cpuUsage(); const s = process.hrtime.bigint();
  for (let b = 0; b < block; b++) evalShell({ command: `${cmds[j]} m${k++}`, ...ctx });
  per[j] += Number(process.hrtime.bigint() - s); const cu = process.cpuUsage(c0b); perCpu[j] += (cu.user + cu.system) * 1e3;
}
const runs = Math.floor(n / block / cmds.length) * block;
console.log(JSON.stringify({ evaluations: n, seconds: dt, per_second: n / dt, per_cpu_second: n / cpuSeconds, satisfied: ok, per_command_us: per.map((t) => t / 1e3 / runs), per_command_cpu_us: perCpu.map((t) => t / 1e3 / runs) }));
