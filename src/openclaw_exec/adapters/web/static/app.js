// The approval page's script: renders server-sent snapshots, posts decisions.
// Everything shown is set with textContent (never innerHTML); the CSRF token comes from
// the page's meta tag and travels in a header, never in a URL.
"use strict";

(function () {
  const meta = (name) => {
    const el = document.querySelector(`meta[name="${name}"]`);
    return el ? el.getAttribute("content") : "";
  };
  const csrf = meta("csrf-token");
  if (meta("may-approve") !== "yes") {
    return;
  }
  const pendingBox = document.getElementById("pending");
  const recentBox = document.getElementById("recent");
  const status = document.getElementById("status");
  let offsetMs = 0; // server clock minus ours
  const notes = new Map(); // approval id -> message after a click

  const el = (tag, cls, text) => {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  };

  const remaining = (expiresAtMs) => {
    const left = Math.max(0, Math.round((expiresAtMs - (Date.now() + offsetMs)) / 1000));
    const m = Math.floor(left / 60);
    const s = left % 60;
    return m > 0 ? `${m} min ${s} s` : `${s} s`;
  };

  const field = (dl, name, value) => {
    if (value === null || value === undefined || value === "") return;
    if (Array.isArray(value) && value.length === 0) return;
    dl.append(el("dt", null, name), el("dd", null, Array.isArray(value) ? value.join(", ") : value));
  };

  const analysisTable = (analysis) => {
    const wrap = el("div", "analysis");
    if (!analysis.ok) {
      wrap.append(el("p", "failure", `analysis failed: ${analysis.failure || "unknown"}`));
    }
    for (const trigger of analysis.mustAsk || []) {
      wrap.append(el("p", "must-ask", `must ask: ${trigger}`));
    }
    const rows = analysis.rows || [];
    if (rows.length) {
      const table = el("table", "segments");
      const head = el("tr");
      for (const h of ["#", "env", "argv", "resolved", "satisfied by", "why / danger"]) {
        head.append(el("th", null, h));
      }
      table.append(head);
      for (const row of rows) {
        const tr = el("tr");
        tr.append(
          el("td", null, row.label),
          el("td", "mono env", (row.env || []).join(" ")),
          el("td", "mono", row.argv.join(" ")),
          el("td", "mono", row.resolved || "-"),
          el("td", row.satisfiedBy ? "ok" : "miss", row.satisfiedBy || "MISS"),
          el("td", null, [row.why, row.danger].filter(Boolean).join("; ")),
        );
        table.append(tr);
      }
      wrap.append(table);
    }
    const always = analysis.allowAlways || [];
    if (always.length) {
      wrap.append(el("p", "always-title", "Allow always would persist:"));
      const ul = el("ul", "always");
      for (const g of always) ul.append(el("li", "mono", `${g.pattern}  (${g.preview})`));
      wrap.append(ul);
    }
    return wrap;
  };

  const decide = async (id, decision, card) => {
    for (const b of card.querySelectorAll("button")) b.disabled = true;
    let message;
    try {
      const res = await fetch(`/api/approvals/${encodeURIComponent(id)}/decision`, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
        body: JSON.stringify({ decision }),
      });
      const body = await res.json().catch(() => ({}));
      message = res.ok ? `answered: ${decision}` : `refused: ${body.message || res.status}`;
    } catch (err) {
      message = "could not reach the server";
    }
    notes.set(id, message);
    const note = card.querySelector(".note");
    if (note) note.textContent = message;
    for (const b of card.querySelectorAll("button")) b.disabled = false;
  };

  const card = (item, settled) => {
    const box = el("article", settled ? "card settled" : "card");
    box.dataset.id = item.id;
    box.dataset.state = item.state;
    box.append(el("pre", "command", item.command));
    const dl = el("dl", "facts");
    field(dl, "id", item.id);
    field(dl, "cwd", item.cwd);
    field(dl, "agent", item.agentId);
    field(dl, "session", item.sessionKey);
    field(dl, "host", item.host);
    field(dl, "requested by", item.requester);
    field(dl, "env names", item.envKeys);
    box.append(dl);
    if (settled) {
      const what = item.decision ? `${item.decision} by ${item.resolvedBy || "?"}` : item.state;
      box.append(el("p", "outcome", what));
      return box;
    }
    const countdown = el("p", "countdown", `expires in ${remaining(item.expiresAtMs)}`);
    countdown.dataset.expiresAtMs = String(item.expiresAtMs);
    box.append(countdown, analysisTable(item.analysis));
    const actions = el("div", "actions");
    for (const [decision, label, cls] of [
      ["allow-once", "Allow once", "allow"],
      ["allow-always", "Allow always", "always"],
      ["deny", "Deny", "deny"],
    ]) {
      const b = el("button", cls, label);
      b.type = "button";
      b.dataset.decision = decision;
      b.addEventListener("click", () => decide(item.id, decision, box));
      actions.append(b);
    }
    box.append(actions, el("p", "note", notes.get(item.id) || ""));
    return box;
  };

  const render = (snap) => {
    offsetMs = snap.nowMs - Date.now();
    pendingBox.replaceChildren(...snap.pending.map((i) => card(i, false)));
    recentBox.replaceChildren(...snap.recent.map((i) => card(i, true)));
    const n = snap.pending.length;
    status.textContent = n === 0 ? "No pending requests." : `${n} pending request${n === 1 ? "" : "s"}.`;
  };

  setInterval(() => {
    for (const c of document.querySelectorAll(".countdown")) {
      c.textContent = `expires in ${remaining(Number(c.dataset.expiresAtMs))}`;
    }
  }, 1000);

  const source = new EventSource("/api/events");
  source.addEventListener("snapshot", (ev) => render(JSON.parse(ev.data)));
  source.addEventListener("signed-out", () => {
    source.close();
    window.location.assign("/login");
  });
  source.onerror = () => {
    status.textContent = "connection lost; reconnecting…";
  };
})();
