// eslbridge wallboard: polls /ui/data with the bearer token and redraws the tables.
// Every text from the server goes in with textContent (task and line names are the tenants').
"use strict";

(function () {
  const KEY = "eslbridge.wallboard.token";
  let timer = null;
  let round = 0;  // a restarted poll loop ends the older one
  let refreshMs = 2000;

  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "text") node.textContent = v;
      else if (k === "class") node.className = v;
      else node.setAttribute(k, v);
    }
    for (const c of children || []) node.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    return node;
  }

  function num(n) { return n === null || n === undefined ? "–" : Number(n).toLocaleString("en"); }

  function bar(part, whole, label) {
    const pct = whole > 0 ? Math.min(100, (100 * part) / whole) : 0;
    const fill = el("span");
    fill.style.width = pct.toFixed(1) + "%";
    return el("div", { class: "bar" }, [fill, el("em", { text: label })]);
  }

  function fill(tableId, rows, emptyText) {
    const body = document.querySelector("#" + tableId + " tbody");
    body.replaceChildren(...(rows.length ? rows : [
      el("tr", { class: "empty" }, [el("td", { colspan: "9", text: emptyText })])]));
  }

  function taskRow(t) {
    const cc = t.call_centre;
    const agents = cc && cc.agents ? cc.agents.ready + " / " + cc.agents.busy + " / " + cc.agents.wrap_up : "";
    const abandon = cc ? cc.abandonment_1h_pct.toFixed(1) + " % (" + cc.abandoned_1h + " of " + cc.answered_1h + ")" : "";
    const note = t.error || t.held || (t.running ? "" : "stopped, calls finishing");
    return el("tr", { "data-task": t.id }, [
      el("td", {}, [el("span", { class: "name", text: t.name }),
                    t.tenant ? el("span", { class: "note", text: " " + t.tenant }) : ""]),
      el("td", { class: "progress" }, [bar(t.dialled, t.total, t.percent + " %")]),
      el("td", { class: "n dialled", text: num(t.dialled) + " / " + num(t.total) }),
      el("td", { class: "n finished", text: num(t.finished) }),
      el("td", { class: "n in-flight", text: num(t.in_flight) }),
      el("td", { class: "n answered", text: num(t.answered) }),
      el("td", { class: "agents", text: agents }),
      el("td", { class: "n abandoned", text: abandon }),
      el("td", { class: "note", text: note }),
    ]);
  }

  function lineRow(l) {
    return el("tr", { "data-line": l.id }, [
      el("td", { text: l.name }), el("td", { text: l.node }),
      el("td", {}, [bar(l.in_flight, l.call_line, l.in_flight + " / " + l.call_line)]),
      el("td", { class: "n in-flight", text: num(l.in_flight) }),
    ]);
  }

  function nodeRow(n) {
    const state = n.paused ? el("span", { class: "badge paused", text: "paused" })
                           : el("span", { class: "badge up", text: "dialling" });
    const links = n.links.map((l) => el("span", { class: "badge " + (l.connected ? "up" : "down"),
                                                  text: l.engine + (l.connected ? " up" : " down") }));
    return el("tr", { "data-node": n.name }, [
      el("td", { text: n.name }), el("td", { class: "state" }, [state]),
      el("td", { class: "links" }, links.length ? links : ["no engine"]),
      el("td", { class: "n in-flight", text: num(n.in_flight) }),
    ]);
  }

  function outcomeRows(outcomes) {
    const top = Math.max(1, ...outcomes.map((o) => o.calls));
    return outcomes.map((o) => el("tr", { "data-status": String(o.status) }, [
      el("td", { text: o.status + " " + o.name }), el("td", {}, [bar(o.calls, top, "")]),
      el("td", { class: "n calls", text: num(o.calls) }),
    ]));
  }

  function render(d) {
    document.getElementById("scope").textContent = d.scope.tenant ? "tenant " + d.scope.tenant : "all tenants";
    document.getElementById("total-in-flight").textContent = num(d.totals.in_flight);
    document.getElementById("total-ended").textContent = num(d.totals.ended_last_hour);
    document.getElementById("total-tasks").textContent = num(d.totals.tasks);
    document.getElementById("webhooks-pending").textContent = num(d.webhooks.pending);
    document.getElementById("webhooks-detail").textContent =
      num(d.webhooks.due) + " due · " + num(d.webhooks.dead) + " dead · oldest " + d.webhooks.oldest_pending_s + " s";
    fill("tasks", d.tasks.map(taskRow), "no running task");
    fill("lines", d.lines.map(lineRow), "no line");
    fill("nodes", d.nodes.map(nodeRow), "no node");
    fill("outcomes", outcomeRows(d.outcomes_last_hour), "no call ended in the last hour");
    const status = document.getElementById("status");
    status.textContent = "updated " + new Date(d.at).toLocaleTimeString("en-GB");
    status.className = "status";
    refreshMs = 1000 * (d.refresh_s || 2);
  }

  function showLogin(message) {
    document.getElementById("board").hidden = true;
    document.getElementById("login").hidden = false;
    document.getElementById("status").textContent = message;
  }

  function restart() { clearTimeout(timer); round += 1; poll(round); }

  async function poll(mine) {
    const token = sessionStorage.getItem(KEY);
    if (!token) { showLogin("a token is needed"); return; }
    try {
      const resp = await fetch("/ui/data", { headers: { Authorization: "Bearer " + token }, cache: "no-store" });
      if (resp.status === 401) { sessionStorage.removeItem(KEY); showLogin("token refused"); return; }
      if (!resp.ok) throw new Error("HTTP " + resp.status);
      render(await resp.json());
      document.getElementById("login").hidden = true;
      document.getElementById("board").hidden = false;
    } catch (err) {
      const status = document.getElementById("status");
      status.textContent = "no answer (" + err.message + "), retrying";
      status.className = "status stale";
    }
    if (mine === round) timer = setTimeout(() => poll(mine), refreshMs);
  }

  // A token in the address (#token=…) is kept for this tab and taken out of the address bar.
  function takeToken() {
    const match = /(?:^#|&)token=([^&]+)/.exec(location.hash);
    if (!match) return false;
    sessionStorage.setItem(KEY, decodeURIComponent(match[1]));
    history.replaceState(null, "", location.pathname + location.search);
    return true;
  }

  function start() {
    takeToken();
    window.addEventListener("hashchange", () => { if (takeToken()) restart(); });
    document.getElementById("login").addEventListener("submit", (ev) => {
      ev.preventDefault();
      const value = document.getElementById("token").value.trim();
      if (value) { sessionStorage.setItem(KEY, value); restart(); }
    });
    restart();
  }

  document.addEventListener("DOMContentLoaded", start);
})();
