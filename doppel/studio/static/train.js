// Training monitor: polls /api/train/status (what `doppel train` writes), draws the loss curves,
// refreshes the preview, and writes the trainer's request files through the API.
"use strict";

Studio.tabs.train = (() => {
  let fields = null;        // {model_fields, run_fields, ...}
  let lastPreviewIt = -1;
  let modelExists = false;
  let initial = {};         // values the form opened with: only changes are sent as flags

  const model = () => $("train-model").value.trim() || "model";

  function fmtTime(s) {
    if (s === null || s === undefined) return "–";
    s = Math.round(s);
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
    return (h ? h + " h " : "") + m + " min " + (s % 60) + " s";
  }

  function drawChart(history) {
    const c = $("train-chart"), g = c.getContext("2d");
    g.fillStyle = "#111"; g.fillRect(0, 0, c.width, c.height);
    const all = [...history.loss, ...history.val_loss].filter((p) => p[1] > 0);
    if (!all.length) return;
    const xs = all.map((p) => p[0]), ys = all.map((p) => Math.log10(p[1]));
    const x0 = Math.min(...xs), x1 = Math.max(...xs) || 1, y0 = Math.min(...ys), y1 = Math.max(...ys);
    const X = (x) => 40 + (c.width - 50) * (x - x0) / Math.max(x1 - x0, 1);
    const Y = (y) => c.height - 20 - (c.height - 30) * (Math.log10(y) - y0) / Math.max(y1 - y0, 1e-6);
    g.strokeStyle = "#444"; g.strokeRect(40, 10, c.width - 50, c.height - 30);
    g.fillStyle = "#999"; g.font = "10px sans-serif";
    g.fillText(Math.pow(10, y1).toPrecision(3), 2, 14); g.fillText(Math.pow(10, y0).toPrecision(3), 2, c.height - 20);
    g.fillText(String(x1), c.width - 40, c.height - 5);
    g.strokeStyle = "#81a2be"; g.beginPath();
    history.loss.filter((p) => p[1] > 0).forEach((p, i) => (i ? g.lineTo(X(p[0]), Y(p[1])) : g.moveTo(X(p[0]), Y(p[1]))));
    g.stroke();
    g.fillStyle = "#f0c674";
    for (const p of history.val_loss.filter((p) => p[1] > 0)) { g.beginPath(); g.arc(X(p[0]), Y(p[1]), 3, 0, 7); g.fill(); }
  }

  function renderStats(st) {
    const rows = st ? [
      ["state", st.state + (st.alive ? " (running)" : "")],
      ["iteration", st.iteration + (st.target_iterations ? " / " + st.target_iterations : "")],
      ["loss", st.loss !== null && st.loss !== undefined ? st.loss.toFixed(4) : "–"],
      ["validation loss", st.val_loss !== null && st.val_loss !== undefined ? st.val_loss.toFixed(4) : "–"],
      ["speed", st.iterations_per_second ? st.iterations_per_second.toFixed(2) + " it/s" : "–"],
      ["ETA to target", fmtTime(st.eta_seconds)],
      ["device", st.device || "–"],
    ] : [["state", "no status.json yet: start training here or run 'doppel train'"]];
    $("train-stats").innerHTML = "";
    for (const [k, v] of rows) {
      const tr = $("train-stats").insertRow();
      tr.insertCell().textContent = k;
      tr.insertCell().textContent = v;
    }
  }

  async function buildForm(options) {
    const form = $("train-options");
    form.innerHTML = "";
    const type = options && options.model_type ? options.model_type : "saehd";
    fields = await api("/api/train/fields" + q({ type }));
    const values = {};
    if (options) for (const f of options.fields) values[f.name] = f.value;
    modelExists = !!options;
    for (const f of fields.run_fields) form.append(fieldControl(f, f.default));
    for (const f of fields.model_fields) {
      const v = f.name in values ? values[f.name] : f.default;
      form.append(fieldControl({ ...f, fixedLocked: modelExists && f.fixed }, v));
    }
    form.dataset.model = model();
    initial = formValues(form, [...fields.run_fields, ...fields.model_fields]);
  }

  async function refresh() {
    let s;
    try { s = await api("/api/train/status" + q({ model: model() })); } catch (e) { return; }
    renderStats(s.status);
    drawChart(s.history);
    const st = s.status;
    $("train-state").textContent = st ? (st.alive ? "training" : st.state) : (s.job && s.job.running ? "starting" : "no run");
    if (s.job && s.job.error) say("training: " + s.job.error, true);
    if (s.preview && (!st || st.iteration !== lastPreviewIt)) {
      lastPreviewIt = st ? st.iteration : 0;
      $("train-preview").src = "/api/train/preview" + q({ model: model(), t: Date.now() });
    }
    if ($("train-options").dataset.model !== model() || modelExists !== !!s.options) await buildForm(s.options);
  }

  async function request(what) {
    await api("/api/train/request", { model: model(), what });
    say(what + " requested: the trainer acts on it after its current iteration");
  }

  async function start() {
    const all = [...fields.run_fields, ...fields.model_fields];
    const values = formValues($("train-options"), all);
    const options = {};
    for (const f of all) if (f.name in values && values[f.name] !== initial[f.name]) options[f.name] = values[f.name];
    const r = await api("/api/train/start", { model: model(), options });
    say("training started (pid " + r.pid + ")");
  }

  return {
    init: async () => {
      $("train-save").onclick = () => request("save");
      $("train-backup").onclick = () => request("backup");
      $("train-stop").onclick = () => request("stop");
      $("train-start").onclick = start;
      $("train-model").onchange = refresh;
      await refresh();
      setInterval(() => { if ($("tab-train").classList.contains("active")) refresh(); }, 2000);
    },
    show: refresh,
  };
})();
