// Faceset browser: paged grid in any sort order, select -> trash, restore, metadata and landmarks.
"use strict";

Studio.tabs.faces = (() => {
  let page = 0, total = 0;
  const perPage = 60;
  const selected = new Set();

  const dir = () => $("faces-dir").value;

  async function load() {
    const r = await api("/api/faces" + q({ dir: dir(), sort: $("faces-sort").value, page, per_page: perPage }));
    total = r.total;
    $("faces-page").textContent = ` page ${page + 1} / ${Math.max(1, Math.ceil(total / perPage))} (${total} faces) `;
    const grid = $("faces-grid");
    grid.innerHTML = "";
    for (const item of r.items) {
      const fig = document.createElement("figure");
      fig.dataset.name = item.name;
      fig.classList.toggle("selected", selected.has(item.name));
      fig.classList.toggle("reject", !!item.reject);
      fig.title = item.reject ? "rejected: " + item.reject : item.score !== null ? "score " + item.score : item.name;
      const img = document.createElement("img");
      img.loading = "lazy";
      img.src = faceUrl(dir(), item.name);
      const cap = document.createElement("figcaption");
      cap.textContent = item.name;
      fig.append(img, cap);
      if (item.labels || item.mask) {
        const b = document.createElement("span");
        b.className = "badge";
        b.textContent = (item.labels ? "L" : "") + (item.mask ? "M" : "");
        fig.append(b);
      }
      fig.onclick = (e) => {
        if (e.shiftKey || e.ctrlKey || e.metaKey) {
          selected.has(item.name) ? selected.delete(item.name) : selected.add(item.name);
          fig.classList.toggle("selected");
        } else {
          showDetail(item.name);
        }
      };
      fig.ondblclick = () => { selected.has(item.name) ? selected.delete(item.name) : selected.add(item.name); fig.classList.toggle("selected"); };
      grid.append(fig);
    }
  }

  async function showDetail(name) {
    const meta = await api("/api/face/meta" + q({ dir: dir(), name }));
    const c = $("faces-canvas"), g = c.getContext("2d");
    const img = new Image();
    img.onload = () => {
      g.drawImage(img, 0, 0, c.width, c.height);
      const s = c.width / meta.size;
      g.fillStyle = "#0f0";
      for (const [x, y] of meta.landmarks) g.fillRect(x * s - 1.5, y * s - 1.5, 3, 3);
    };
    img.src = faceUrl(dir(), name);
    const shown = { ...meta };
    delete shown.landmarks; delete shown.source_landmarks;
    $("faces-meta").textContent = name + "\n" + JSON.stringify(shown, null, 1);
  }

  async function trashSelected() {
    if (!selected.size) return say("select faces first (shift-click or double-click)");
    const r = await api("/api/faces/trash", { dir: dir(), names: [...selected] });
    selected.clear();
    say(`${r.trashed.length} faces moved to ${dir()}/_trash`);
    await load();
  }

  async function showTrash() {
    const box = $("faces-trash-box");
    box.hidden = !box.hidden;
    if (box.hidden) return;
    const r = await api("/api/faces/trashed" + q({ dir: dir() }));
    const list = $("faces-trash-list");
    list.innerHTML = "";
    for (const e of r.entries) {
      const b = document.createElement("button");
      b.textContent = `restore ${e.original} (${e.reason})`;
      b.onclick = async () => { await api("/api/faces/restore", { dir: dir(), names: [e.trashed] }); box.hidden = true; await showTrash(); await load(); };
      list.append(b);
    }
  }

  return {
    init: async () => {
      const sets = Studio.info.facesets.map((f) => ({ value: f.dir, label: `${f.dir} (${f.faces})` }));
      fillSelect($("faces-dir"), sets);
      fillSelect($("faces-sort"), Studio.info.sort_methods.map((m) => ({ value: m.name, label: m.name })));
      $("faces-dir").onchange = () => { page = 0; selected.clear(); load(); };
      $("faces-sort").onchange = () => { page = 0; say("sorting…"); load().then(() => say("")); };
      $("faces-prev").onclick = () => { if (page > 0) { page--; load(); } };
      $("faces-next").onclick = () => { if ((page + 1) * perPage < total) { page++; load(); } };
      $("faces-trash").onclick = trashSelected;
      $("faces-show-trash").onclick = showTrash;
      $("faces-restore-all").onclick = async () => { await api("/api/faces/restore", { dir: dir(), names: null }); $("faces-trash-box").hidden = true; await load(); };
      $("faces-apply-sort").onclick = async () => {
        const r = await api("/api/faces/sort", { dir: dir(), method: $("faces-sort").value });
        say(`sorted: ${r.kept} kept, ${r.trashed.length} to trash`);
        $("faces-sort").value = "name"; page = 0; await load();
      };
    },
    show: () => { if (dir()) return load(); },
  };
})();
