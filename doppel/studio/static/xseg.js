// XSeg mask editor: include/exclude polygons per face (face pixel coordinates), undo/redo, overlays
// of the labels and of the learned mask; XSeg training, apply and remove.
"use strict";

Studio.tabs.xseg = (() => {
  let names = [], index = 0, meta = null, image = null, learned = null;
  let polys = [], current = [], undo = [], redo = [], dirty = false;
  let polling = null;

  const dir = () => $("xseg-dir").value;
  const canvas = () => $("xseg-canvas");
  const scale = () => canvas().width / (meta ? meta.size : 1);
  const kind = () => document.querySelector("input[name=xseg-kind]:checked").value;

  function snapshot() { return JSON.stringify({ polys, current }); }
  function change(fn) { undo.push(snapshot()); redo = []; fn(); dirty = true; draw(); }
  function restore(s) { const o = JSON.parse(s); polys = o.polys; current = o.current; dirty = true; draw(); }

  function labelMask() {
    // Polygons applied in order: include fills, exclude cuts out (as the server's polygons_to_mask).
    const c = document.createElement("canvas");
    c.width = c.height = canvas().width;
    const g = c.getContext("2d"), s = scale();
    for (const p of polys) {
      g.globalCompositeOperation = p.kind === "include" ? "source-over" : "destination-out";
      g.fillStyle = "rgba(80,220,80,1)";
      g.beginPath();
      p.points.forEach(([x, y], i) => (i ? g.lineTo(x * s, y * s) : g.moveTo(x * s, y * s)));
      g.closePath();
      g.fill();
    }
    return c;
  }

  function tinted(img, rgb) {
    const c = document.createElement("canvas");
    c.width = c.height = canvas().width;
    const g = c.getContext("2d");
    g.drawImage(img, 0, 0, c.width, c.height);
    const d = g.getImageData(0, 0, c.width, c.height);
    for (let i = 0; i < d.data.length; i += 4) {
      const v = d.data[i];
      d.data[i] = rgb[0]; d.data[i + 1] = rgb[1]; d.data[i + 2] = rgb[2]; d.data[i + 3] = v;
    }
    g.putImageData(d, 0, 0);
    return c;
  }

  function draw() {
    const c = canvas(), g = c.getContext("2d"), s = scale();
    g.globalAlpha = 1;
    g.clearRect(0, 0, c.width, c.height);
    if (image) g.drawImage(image, 0, 0, c.width, c.height);
    if ($("xseg-learned").checked && learned) { g.globalAlpha = 0.45; g.drawImage(tinted(learned, [230, 60, 60]), 0, 0); }
    if ($("xseg-overlay").checked) { g.globalAlpha = 0.35; g.drawImage(labelMask(), 0, 0); }
    g.globalAlpha = 1;
    for (const p of polys) outline(g, p.points, p.kind === "include" ? "#5f5" : "#f55", true, s);
    outline(g, current, kind() === "include" ? "#ff5" : "#f95", false, s);
    $("xseg-name").textContent = ` ${names[index] || ""} (${index + 1}/${names.length})${dirty ? " *" : ""} `;
  }

  function outline(g, pts, color, closed, s) {
    if (!pts.length) return;
    g.strokeStyle = color; g.fillStyle = color; g.lineWidth = 1.5;
    g.beginPath();
    pts.forEach(([x, y], i) => (i ? g.lineTo(x * s, y * s) : g.moveTo(x * s, y * s)));
    if (closed) g.closePath();
    g.stroke();
    for (const [x, y] of pts) g.fillRect(x * s - 2, y * s - 2, 4, 4);
  }

  function loadImage(url) {
    return new Promise((ok, fail) => { const i = new Image(); i.onload = () => ok(i); i.onerror = fail; i.src = url; });
  }

  async function openFace(i) {
    if (dirty) await save();
    index = Math.max(0, Math.min(names.length - 1, i));
    const name = names[index];
    if (!name) return;
    meta = await api("/api/face/meta" + q({ dir: dir(), name }));
    image = await loadImage(faceUrl(dir(), name));
    learned = meta.xseg_mask ? await loadImage("/api/face/mask" + q({ dir: dir(), name, source: "xseg", t: Date.now() })) : null;
    polys = (meta.xseg_polygons || []).map((p) => ({ kind: p.kind, points: p.points }));
    current = []; undo = []; redo = []; dirty = false;
    document.querySelectorAll("#xseg-strip img").forEach((im, k) => im.classList.toggle("current", k === index));
    draw();
  }

  async function save() {
    if (!meta) return;
    if (current.length >= 3) closePolygon();
    const name = names[index];
    await api("/api/xseg/polygons", { dir: dir(), name, polygons: polys });
    dirty = false;
    const thumb = document.querySelectorAll("#xseg-strip img")[index];
    if (thumb) thumb.classList.toggle("labelled", polys.length > 0);
    say(`labels saved in ${name}`);
    draw();
  }

  function closePolygon() {
    if (current.length < 3) return;
    change(() => { polys.push({ kind: kind(), points: current }); current = []; });
  }

  async function loadNames() {
    const r = await api("/api/faces" + q({ dir: dir(), per_page: 500 }));
    names = r.items.map((i) => i.name);
    const strip = $("xseg-strip");
    strip.innerHTML = "";
    r.items.forEach((item, k) => {
      const im = document.createElement("img");
      im.loading = "lazy";
      im.src = faceUrl(dir(), item.name);
      im.title = item.name;
      im.classList.toggle("labelled", item.labels);
      im.onclick = () => openFace(k);
      strip.append(im);
    });
    await openFace(0);
  }

  async function pollStatus() {
    const r = await api("/api/xseg/status");
    const p = r.progress, job = r.job;
    let text = r.model ? "model ready" : "no model yet";
    if (p) text = `iteration ${p.iteration}/${p.target}, loss ${p.loss !== null ? Number(p.loss).toFixed(4) : "–"}` + (p.it_s ? `, ${p.it_s.toFixed(1)} it/s` : "");
    if (job && job.running) text = "training: " + text;
    else if (job && job.error) text = "failed: " + job.error;
    else if (job && job.finished) text = "trained: " + text;
    $("xseg-status").textContent = text;
    $("xseg-status").dataset.state = job ? (job.running ? "running" : job.error ? "error" : "done") : "idle";
    if (!(job && job.running) && polling) { clearInterval(polling); polling = null; }
  }

  async function train() {
    if (dirty) await save();
    const body = {};
    for (const el of $("xseg-train-form").elements) body[el.name] = Number(el.value);
    body.dirs = [dir()];
    await api("/api/xseg/train", body);
    say("XSeg training started");
    if (!polling) polling = setInterval(pollStatus, 1000);
    await pollStatus();
  }

  return {
    init: async () => {
      const sets = Studio.info.facesets.map((f) => ({ value: f.dir, label: `${f.dir} (${f.faces})` }));
      fillSelect($("xseg-dir"), sets);
      $("xseg-dir").onchange = loadNames;
      $("xseg-prev").onclick = () => openFace(index - 1);
      $("xseg-next").onclick = () => openFace(index + 1);
      $("xseg-close").onclick = closePolygon;
      $("xseg-undo").onclick = () => { if (undo.length) { redo.push(snapshot()); restore(undo.pop()); } };
      $("xseg-redo").onclick = () => { if (redo.length) { undo.push(snapshot()); restore(redo.pop()); } };
      $("xseg-clear").onclick = () => change(() => { polys = []; current = []; });
      $("xseg-save").onclick = save;
      $("xseg-overlay").onchange = draw;
      $("xseg-learned").onchange = draw;
      $("xseg-train").onclick = train;
      $("xseg-stop").onclick = () => api("/api/xseg/stop", {});
      $("xseg-apply").onclick = async () => {
        const r = await api("/api/xseg/apply", { dir: dir() });
        $("xseg-learned").checked = true;
        await openFace(index);  // the message comes once the face on screen shows its learned mask
        say(`learned masks stored in ${r.applied} faces`);
      };
      $("xseg-remove").onclick = async () => { const r = await api("/api/xseg/remove", { dir: dir() }); await openFace(index); say(`masks removed from ${r.changed} faces`); };
      const c = canvas();
      c.addEventListener("click", (e) => {
        const r = c.getBoundingClientRect(), s = scale();
        const x = (e.clientX - r.left) * (c.width / r.width) / s, y = (e.clientY - r.top) * (c.height / r.height) / s;
        change(() => current.push([Math.round(x * 100) / 100, Math.round(y * 100) / 100]));
      });
      c.addEventListener("dblclick", (e) => { e.preventDefault(); closePolygon(); });
      document.addEventListener("keydown", (e) => {
        if (!$("tab-xseg").classList.contains("active")) return;
        if (e.key === "Enter") closePolygon();
        else if (e.key === "Escape") change(() => { current = []; });
        else if ((e.ctrlKey || e.metaKey) && e.key === "z") $("xseg-undo").click();
        else if ((e.ctrlKey || e.metaKey) && e.key === "y") $("xseg-redo").click();
        else if ((e.ctrlKey || e.metaKey) && e.key === "s") { e.preventDefault(); save(); }
        else if (e.key === "PageDown") openFace(index + 1);
        else if (e.key === "PageUp") openFace(index - 1);
      });
      await pollStatus();
    },
    show: async () => { if (!names.length && dir()) await loadNames(); },
  };
})();
