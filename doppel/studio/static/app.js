// Shared helpers: API calls (JSON, the anti-CSRF header, the token cookie), tabs, messages.
"use strict";

const $ = (id) => document.getElementById(id);

function say(text, isError) {
  const m = $("message");
  m.textContent = text || "";
  m.className = isError ? "error" : "";
}

async function api(path, body) {
  const init = body === undefined
    ? { credentials: "same-origin" }
    : { method: "POST", credentials: "same-origin", body: JSON.stringify(body),
        headers: { "Content-Type": "application/json", "X-Doppel-Request": "1" } };
  const r = await fetch(path, init);
  const type = r.headers.get("Content-Type") || "";
  if (!r.ok) {
    let msg = r.status + " " + r.statusText;
    if (type.startsWith("application/json")) msg = (await r.json()).error || msg;
    say(msg, true);
    throw new Error(msg);
  }
  return type.startsWith("application/json") ? r.json() : r.blob();
}

const q = (params) => "?" + new URLSearchParams(params).toString();
const faceUrl = (dir, name) => "/api/face/image" + q({ dir, name });

const Studio = { info: null, tabs: {} };

function showTab(name) {
  document.querySelectorAll("nav button").forEach((b) => b.classList.toggle("active", b.dataset.tab === name));
  document.querySelectorAll(".tab").forEach((s) => s.classList.toggle("active", s.id === "tab-" + name));
  const tab = Studio.tabs[name];
  if (tab && tab.show) tab.show();
}

function fillSelect(select, options, value) {
  select.innerHTML = "";
  for (const o of options) {
    const opt = document.createElement("option");
    opt.value = typeof o === "object" ? o.value : o;
    opt.textContent = typeof o === "object" ? o.label : o;
    select.appendChild(opt);
  }
  if (value !== undefined) select.value = value;
}

// One form control per option field (name, kind, min, max, choices, help, fixed): the same metadata
// the CLI flags are built from.
function fieldControl(f, value, onInput) {
  const label = document.createElement("label");
  label.title = f.help || "";
  label.append(f.name.replace(/_/g, " "));
  let input;
  if (f.choices) {
    input = document.createElement("select");
    fillSelect(input, f.choices.map(String), String(value));
  } else if (f.kind === "bool" || f.type === "bool" || typeof value === "boolean") {
    input = document.createElement("input");
    input.type = "checkbox";
    input.checked = !!value;
  } else {
    input = document.createElement("input");
    const numeric = ["int", "float"].includes(f.kind || f.type) || typeof value === "number";
    input.type = numeric && f.min !== undefined && f.max !== undefined ? "range" : numeric ? "number" : "text";
    if (f.min !== undefined) input.min = f.min;
    if (f.max !== undefined) input.max = f.max;
    input.step = (f.kind || f.type) === "float" || (typeof value === "number" && !Number.isInteger(value)) ? "any" : "1";
    if ((f.kind || f.type) === "float" && input.type === "range") input.step = (f.max - f.min) / 100;
    input.value = value;
  }
  input.name = f.name;
  input.disabled = !!f.fixedLocked;
  const out = document.createElement("output");
  out.textContent = input.type === "checkbox" ? "" : input.value;
  input.addEventListener("input", () => { out.textContent = input.type === "checkbox" ? "" : input.value; if (onInput) onInput(); });
  input.addEventListener("change", () => { if (onInput) onInput(); });
  label.append(input, out);
  return label;
}

function formValues(form, fields) {
  const out = {};
  for (const f of fields) {
    const el = form.elements[f.name];
    if (!el || el.disabled) continue;
    const kind = f.kind || f.type;
    if (el.type === "checkbox") out[f.name] = el.checked;
    else if (kind === "int") out[f.name] = parseInt(el.value, 10);
    else if (kind === "float") out[f.name] = parseFloat(el.value);
    else out[f.name] = el.value;
  }
  return out;
}

window.addEventListener("DOMContentLoaded", async () => {
  document.querySelectorAll("nav button").forEach((b) => b.addEventListener("click", () => showTab(b.dataset.tab)));
  if (location.search.includes("token=")) history.replaceState(null, "", "/"); // the cookie holds it now
  Studio.info = await api("/api/info");
  $("ws-name").textContent = Studio.info.workspace;
  for (const tab of Object.values(Studio.tabs)) if (tab.init) await tab.init();
  showTab("train");
  document.body.dataset.ready = "1";
});
