// The inferno dashboard: polls /api/status (the server's own measurements) and draws them;
// computes nothing the server did not measure. The playground streams from
// /v1/chat/completions. With an API key the page asks once and sends it with every call.
"use strict";

const $ = (id) => document.getElementById(id);
const KEY = "inferno-api-key";
let history = [];
let controller = null;

async function api(path, options = {}) {
  const headers = Object.assign({}, options.headers || {});
  const key = sessionStorage.getItem(KEY);
  if (key) headers["Authorization"] = "Bearer " + key;
  const r = await fetch(path, Object.assign({}, options, { headers }));
  if (r.status === 401) {
    $("key-button").hidden = false;
    await askKey();
    throw new Error("an API key is needed");
  }
  return r;
}

function askKey() {
  const d = $("key-dialog");
  if (d.open) return Promise.resolve();
  return new Promise((done) => {
    d.addEventListener("close", () => {
      const v = $("key-input").value.trim();
      if (v) sessionStorage.setItem(KEY, v);
      done();
    }, { once: true });
    d.showModal();
  });
}

const bytes = (n) => {
  if (n == null) return "-";
  const u = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return (i ? n.toFixed(2) : n) + " " + u[i];
};
const num = (x, d = 1) => (x == null ? "-" : Number(x).toFixed(d));

function facts(dl, rows) {
  dl.replaceChildren(...rows.flatMap(([k, v]) => {
    const dt = document.createElement("dt");
    dt.textContent = k;
    const dd = document.createElement("dd");
    dd.textContent = v;
    return [dt, dd];
  }));
}

function tableRows(tbody, rows) {
  tbody.replaceChildren(...rows.map((cells) => {
    const tr = document.createElement("tr");
    for (const c of cells) {
      const td = document.createElement("td");
      td.textContent = c;
      tr.appendChild(td);
    }
    return tr;
  }));
}

function chart(canvas, series, colors, label = (v) => String(Math.round(v * 100) / 100)) {
  const ctx = canvas.getContext("2d");
  const w = canvas.width, h = canvas.height;
  ctx.clearRect(0, 0, w, h);
  const all = series.flat();
  const max = Math.max(1, ...all);
  const n = Math.max(2, ...series.map((s) => s.length));
  ctx.font = "10px system-ui";
  ctx.fillStyle = getComputedStyle(document.body).color;
  ctx.fillText(label(max), 4, 10);
  series.forEach((s, k) => {
    ctx.strokeStyle = colors[k % colors.length];
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    s.forEach((v, i) => {
      const x = (i / (n - 1)) * (w - 2) + 1;
      const y = h - 2 - (v / max) * (h - 14);
      i ? ctx.lineTo(x, y) : ctx.moveTo(x, y);
    });
    ctx.stroke();
  });
  canvas.dataset.points = String(series.length ? series[0].length : 0);
}

function render(s) {
  $("model-name").textContent = s.model.id;
  const state = $("state");
  state.textContent = s.model.state;
  state.className = "badge " + (s.model.state === "loaded" ? "ok" : "warn");
  if (s.server.api_key_required) $("key-button").hidden = false;

  const sys = s.system;
  facts($("system-facts"), [
    ["os", sys.os + (sys.kernel ? " (" + sys.kernel + ")" : "")],
    ["cpu", (sys.cpu || "unknown") + " (" + sys.arch + ")"],
    ["cores", (sys.physical_cores ?? "-") + " physical, " + sys.logical_cores + " logical"],
    ["memory", bytes(sys.memory_total_bytes) + " total, " + bytes(sys.memory_available_bytes) + " available"],
    ["backends", s.backends.join(", ")],
    ["inferno", s.server.version + ", up " + Math.round(s.server.uptime_s) + " s"],
  ]);
  tableRows($("devices").tBodies[0], s.devices.map((d) => [
    d.name + " — " + d.description, d.type,
    bytes(d.memory_total_bytes - d.memory_free_bytes) + " of " + bytes(d.memory_total_bytes),
    bytes(d.memory_free_bytes),
  ]));

  const m = s.model, f = m.facts;
  facts($("model-facts"), [
    ["file", m.path],
    ["architecture", (f.architecture || "-") + (f.name ? " — " + f.name : "")],
    ["parameters", f.parameters.toLocaleString()],
    ["quantization", (f.file_type || "-") + " · " + f.quantization.map((q) => q.type + " ×" + q.tensors).join(", ")],
    ["context", "trained " + (f.context_length ?? "-") + "; " + s.server.slots + " slots × " + (s.server.slot_context ?? "-") + " tokens"],
    ["layers on GPU", m.offload ? m.offload.layers + " of " + m.offload.total : "-"],
    ["chat template", f.chat_template.present ? (f.chat_template.name || "not recognized") : "none (raw completion)"],
  ]);
  tableRows($("buffers").tBodies[0], m.buffers.map((b) => [b.device, b.kind, bytes(b.bytes)]));
  tableRows($("models").tBodies[0], s.models.map((x) => [
    x.name, x.state, x.state === "loaded" ? bytes(x.memory_bytes) : "~" + bytes(x.estimate_bytes) + " estimated",
    x.active_requests, x.loads + " · " + x.unloads,
  ]));

  const h = s.live.samples;
  chart($("chart-gen"), [h.map((x) => x.gen_tps)], ["#d9480f"]);
  chart($("chart-prompt"), [h.map((x) => x.prompt_tps)], ["#1c7ed6"]);
  chart($("chart-slots"), [h.map((x) => x.active), h.map((x) => x.queued)], ["#2b8a3e", "#e67700"]);
  chart($("chart-kv"), [h.map((x) => x.kv_cells_used)], ["#7048e8"]);
  chart($("chart-mem"), s.devices.map((_, i) => h.map((x) => x.device_used_bytes[i] || 0)), ["#0c8599", "#c2255c", "#5c940d"], bytes);
  const last = h[h.length - 1] || {};
  $("now-gen").textContent = num(last.gen_tps) + " tok/s now";
  $("now-prompt").textContent = num(last.prompt_tps) + " tok/s now";
  $("now-slots").textContent = (last.active ?? 0) + " active of " + s.server.slots + ", " + (last.queued ?? 0) + " queued";
  $("now-kv").textContent = (last.kv_cells_used ?? 0) + " of " + (s.server.kv_cells ?? "-") + " cells";
  $("now-mem").textContent = s.devices.map((d) => d.name + " " + bytes(d.memory_total_bytes - d.memory_free_bytes)).join(", ");

  tableRows($("request-table").tBodies[0], s.requests.slice().reverse().map((r) => [
    new Date(r.time_ms).toLocaleTimeString(), r.method + " " + r.path, r.status, r.prompt_tokens, r.cached_tokens,
    r.gen_tokens, num(r.ttft_ms), num(r.gen_tps), r.finish_reason || "-", r.model || "-",
  ]));
}

async function poll() {
  try {
    const r = await api("/api/status");
    if (r.ok) render(await r.json());
    else $("state").textContent = "status " + r.status;
  } catch (e) {
    $("state").textContent = "unreachable";
    $("state").className = "badge warn";
  }
  setTimeout(poll, 1000);
}

function bubble(role, text) {
  const div = document.createElement("div");
  div.className = "msg " + role;
  div.textContent = text;
  $("transcript").appendChild(div);
  div.scrollIntoView({ block: "nearest" });
  return div;
}

async function send(event) {
  event.preventDefault();
  const text = $("message").value.trim();
  if (!text || controller) return;
  $("message").value = "";
  bubble("user", text);
  history.push({ role: "user", content: text });
  const messages = [];
  const sys = $("system-prompt").value.trim();
  if (sys) messages.push({ role: "system", content: sys });
  messages.push(...history);
  const out = bubble("assistant", "");
  out.dataset.state = "streaming";
  controller = new AbortController();
  $("send").disabled = true;
  $("stop").disabled = false;
  $("figures").textContent = "";
  let reply = "";
  try {
    const r = await api("/v1/chat/completions", {
      method: "POST",
      headers: { "content-type": "application/json" },
      signal: controller.signal,
      body: JSON.stringify({
        messages, stream: true, stream_options: { include_usage: true },
        temperature: Number($("temperature").value), max_tokens: Number($("max-tokens").value),
      }),
    });
    if (!r.ok) {
      const e = await r.json().catch(() => ({}));
      throw new Error((e.error && e.error.message) || "HTTP " + r.status);
    }
    const reader = r.body.getReader();
    const decoder = new TextDecoder();
    let buf = "";
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      buf += decoder.decode(value, { stream: true });
      let cut;
      while ((cut = buf.indexOf("\n\n")) >= 0) {
        const event = buf.slice(0, cut);
        buf = buf.slice(cut + 2);
        if (!event.startsWith("data: ") || event === "data: [DONE]") continue;
        const chunk = JSON.parse(event.slice(6));
        for (const c of chunk.choices || []) {
          if (c.delta && c.delta.content) {
            reply += c.delta.content;
            out.textContent = reply;
          }
        }
        if (chunk.usage) {
          const t = chunk.timings || {};
          $("figures").textContent = chunk.usage.prompt_tokens + " prompt (" + chunk.usage.prompt_tokens_details.cached_tokens +
            " cached) · " + chunk.usage.completion_tokens + " generated · first token " + num(t.ttft_ms) + " ms · " + num(t.gen_tps) + " tok/s";
        }
      }
    }
    out.dataset.state = "done";
    history.push({ role: "assistant", content: reply });
  } catch (e) {
    if (e.name === "AbortError") {
      out.dataset.state = "stopped";
      $("figures").textContent = "stopped";
      if (reply) history.push({ role: "assistant", content: reply });
    } else {
      out.dataset.state = "error";
      out.classList.add("error");
      out.textContent = (reply ? reply + "\n" : "") + "error: " + e.message;
    }
  } finally {
    controller = null;
    $("send").disabled = false;
    $("stop").disabled = true;
  }
}

document.addEventListener("DOMContentLoaded", () => {
  $("chat-form").addEventListener("submit", send);
  $("stop").addEventListener("click", () => controller && controller.abort());
  $("clear").addEventListener("click", () => { history = []; $("transcript").replaceChildren(); $("figures").textContent = ""; });
  $("key-button").addEventListener("click", askKey);
  $("message").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) $("chat-form").requestSubmit();
  });
  const needKey = document.documentElement.hasAttribute("data-key-required");
  if (needKey) $("key-button").hidden = false;
  if (needKey && !sessionStorage.getItem(KEY)) askKey().then(poll);
  else poll();
});
