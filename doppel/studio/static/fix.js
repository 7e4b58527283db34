// Manual fix: frames where extraction found no face. Drag a box, get landmarks (face mesh or a mean
// face), drag points to correct them, save: the face is aligned, written and added to alignments.json.
"use strict";

Studio.tabs.fix = (() => {
  let frame = null, index = null, box = null, landmarks = null, drag = null, scale = 1;

  const canvas = () => $("fix-canvas");

  function draw() {
    const c = canvas(), g = c.getContext("2d");
    g.clearRect(0, 0, c.width, c.height);
    if (frame) g.drawImage(frame, 0, 0, c.width, c.height);
    if (box) { g.strokeStyle = "#f0c674"; g.lineWidth = 2; g.strokeRect(box[0] * scale, box[1] * scale, (box[2] - box[0]) * scale, (box[3] - box[1]) * scale); }
    if (landmarks) {
      g.fillStyle = "#5f5";
      for (const [x, y] of landmarks) { g.beginPath(); g.arc(x * scale, y * scale, 3, 0, 7); g.fill(); }
    }
  }

  async function load(i) {
    index = Number(i);
    const img = new Image();
    await new Promise((ok, fail) => { img.onload = ok; img.onerror = fail; img.src = "/api/fix/frame" + q({ index, t: Date.now() }); });
    frame = img;
    const c = canvas();
    scale = Math.min(640 / img.width, 640 / img.height);
    c.width = Math.round(img.width * scale); c.height = Math.round(img.height * scale);
    box = null; landmarks = null;
    draw();
  }

  function toFrame(e) {
    const r = canvas().getBoundingClientRect();
    return [(e.clientX - r.left) * (canvas().width / r.width) / scale, (e.clientY - r.top) * (canvas().height / r.height) / scale];
  }

  return {
    init: async () => {
      const c = canvas();
      c.addEventListener("mousedown", (e) => {
        const [x, y] = toFrame(e);
        if (landmarks) {
          let best = -1, bestD = 8 / scale;
          landmarks.forEach(([lx, ly], k) => { const d = Math.hypot(lx - x, ly - y); if (d < bestD) { best = k; bestD = d; } });
          if (best >= 0) { drag = { point: best }; return; }
        }
        drag = { box: [x, y] };
        box = [x, y, x, y];
      });
      c.addEventListener("mousemove", (e) => {
        if (!drag) return;
        const [x, y] = toFrame(e);
        if (drag.point !== undefined) landmarks[drag.point] = [x, y];
        else box = [drag.box[0], drag.box[1], x, y];
        draw();
      });
      window.addEventListener("mouseup", () => { drag = null; });
      $("fix-load").onclick = () => load($("fix-index").value || $("fix-frame").value);
      $("fix-frame").onchange = () => load($("fix-frame").value);
      $("fix-detect").onclick = async () => {
        if (!box) return say("drag a box around the face first");
        const r = await api("/api/fix/detect", { index, box });
        landmarks = r.landmarks;
        say("landmarks from " + r.from + ": drag points to correct, then save");
        draw();
      };
      $("fix-save").onclick = async () => {
        if (!landmarks) return say("find landmarks first");
        const r = await api("/api/fix/save", { index, landmarks });
        say(`saved ${r.dir}/${r.saved}`);
      };
    },
    show: async () => {
      try {
        const r = await api("/api/fix/frames");
        fillSelect($("fix-frame"), r.without_face.map(String));
        if (r.without_face.length && frame === null) await load(r.without_face[0]);
        else if (!r.without_face.length) say("every extracted frame has a face; enter a frame index to add one");
      } catch (e) { /* no alignments: message shown */ }
    },
  };
})();
