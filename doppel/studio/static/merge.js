// Interactive merger: one control per merge setting (built from the settings' metadata); every
// change re-renders the chosen frame; Save writes WORKSPACE/merge.json for `doppel merge --config`.
"use strict";

Studio.tabs.merge = (() => {
  let fields = [], timer = null, busy = false, again = false, seq = 0;

  function settings() { return formValues($("merge-form"), fields); }

  async function render() {
    if (busy) { again = true; return; }  // one render at a time; the latest settings win
    busy = true;
    $("merge-busy").textContent = "rendering…";
    try {
      const blob = await api("/api/merge/preview", { model: $("merge-model").value, frame: Number($("merge-frame").value), settings: settings() });
      const img = $("merge-preview");
      if (img.src.startsWith("blob:")) URL.revokeObjectURL(img.src);
      img.src = URL.createObjectURL(blob);
      img.dataset.seq = String(++seq);
      $("merge-busy").textContent = "idle";
    } catch (e) {
      $("merge-busy").textContent = "error";
    } finally {
      busy = false;
      if (again) { again = false; render(); }
    }
  }

  function schedule() { clearTimeout(timer); timer = setTimeout(render, 120); }

  return {
    init: async () => {
      $("merge-save").onclick = async () => {
        const r = await api("/api/merge/save", { settings: settings() });
        say(`saved ${r.saved}: ${r.command}`);
      };
      $("merge-frame").onchange = render;
      $("merge-model").onchange = render;
    },
    show: async () => {
      if (fields.length) return;
      const f = await api("/api/merge/fields");
      fields = f.fields;
      const form = $("merge-form");
      form.innerHTML = "";
      for (const field of fields) form.append(fieldControl(field, f.values[field.name], schedule));
      try {
        const fr = await api("/api/merge/frames");
        fillSelect($("merge-frame"), fr.frames.map(String));
        await render();
      } catch (e) { /* no alignments yet: the message says so */ }
    },
  };
})();
