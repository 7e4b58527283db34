"""End to end in a real headless Chromium (Debian's chromium + chromedriver, installed by
scripts/install-browser): a studio on a workspace made from the real clips; label XSeg polygons with
mouse clicks, train XSeg briefly, apply it and see the mask overlay; move a merge slider and see the
preview change; an exposed studio refuses the page without its token; traversal is refused."""

from __future__ import annotations

import os

import numpy as np
import pytest

from doppel.core.images import list_images
from doppel.core.metadata import read_metadata
from doppel.masks.xseg import hull_polygon

from .webdriver import Chrome, find_browser

SRC = "data_src/aligned"
CANVAS = 512  # the XSeg editor canvas, pixels


@pytest.fixture(scope="module")
def chrome():
    found = find_browser()
    if found is None:
        if os.environ.get("DOPPEL_SKIP_BROWSER"):
            pytest.skip("no chromium/chromedriver (DOPPEL_SKIP_BROWSER set)")
        pytest.fail("chromium and chromedriver are missing: run scripts/install-browser")
    browser = Chrome(*found)
    yield browser
    browser.quit()


@pytest.fixture
def merge_model(workspace):
    """A small SAEHD model (untrained: the test is about the studio, not the swap)."""
    from doppel.models.io import save_model
    from doppel.models.registry import create_model

    save_model(create_model("saehd", resolution=64, ae_dims=32, e_dims=16, d_dims=16, d_mask_dims=16), workspace.model)
    return workspace.model


def _open(chrome, url: str) -> None:
    chrome.get(url)
    chrome.wait("return document.body.dataset.ready === '1'", 60, "the studio page to load")


def test_label_train_apply_xseg_in_the_browser(chrome, studio):
    _open(chrome, studio.url + "/")
    chrome.click("nav button[data-tab=xseg]")
    chrome.wait("return document.querySelectorAll('#xseg-strip img').length > 0", 30, "the face strip")
    faces = list_images(studio.root / SRC)
    labelled = []
    for k in range(4):
        chrome.wait(f"return document.getElementById('xseg-name').textContent.includes('{faces[k].name}')", 30, f"face {k}")
        meta = read_metadata(faces[k])
        pts = np.asarray(hull_polygon(meta.landmarks, 0.3)["points"])
        pts = pts[np.linspace(0, len(pts) - 1, min(len(pts), 14)).astype(int)]
        s = CANVAS / meta.size
        chrome.click_points("#xseg-canvas", [(x * s, y * s) for x, y in pts])
        chrome.click("#xseg-close")
        chrome.click("#xseg-save")
        chrome.wait(f"return document.getElementById('message').textContent === 'labels saved in {faces[k].name}'", 20, "labels saved")
        saved = read_metadata(faces[k]).xseg_polygons
        assert saved and saved[0]["kind"] == "include" and len(saved[0]["points"]) == len(pts)
        assert np.abs(np.asarray(saved[0]["points"]) - pts).max() < 1.5  # clicks landed where aimed (face px)
        labelled.append(faces[k])
        chrome.click("#xseg-next")

    # Undo/redo work on the editor state (and are not saved until asked).
    chrome.click_points("#xseg-canvas", [(100, 100), (200, 100), (150, 200)])
    chrome.click("#xseg-close")
    chrome.click("#xseg-undo")
    assert chrome.run("return document.getElementById('xseg-name').textContent.includes('*')")
    chrome.click("#xseg-clear")

    chrome.type("#xseg-train-form input[name=iterations]", "20")
    chrome.type("#xseg-train-form input[name=resolution]", "32")
    chrome.type("#xseg-train-form input[name=channels]", "8")
    chrome.click("#xseg-train")
    chrome.wait("return document.getElementById('xseg-status').dataset.state === 'done'", 300, "XSeg training")
    assert (studio.root / "xseg" / "xseg.safetensors").is_file()
    assert "trained: iteration 20/20" in chrome.text("#xseg-status")

    chrome.click("#xseg-apply")
    chrome.wait("return document.getElementById('message').textContent.startsWith('learned masks stored')", 120, "apply")
    assert all(read_metadata(f).xseg_mask for f in faces)
    # The learned mask is drawn over the face: the canvas changes when its overlay is switched off.
    chrome.wait("return document.getElementById('xseg-learned').checked", 10, "overlay on")
    with_overlay = chrome.run(_CANVAS_SUM, "xseg-canvas")
    chrome.click("#xseg-learned")
    without = chrome.run(_CANVAS_SUM, "xseg-canvas")
    assert abs(with_overlay - without) > 1000


def test_merge_slider_changes_the_preview(chrome, studio, merge_model):
    _open(chrome, studio.url + "/")
    chrome.click("nav button[data-tab=merge]")
    chrome.wait("return Number(document.getElementById('merge-preview').dataset.seq || 0) >= 1", 120, "first preview")
    chrome.wait("return document.getElementById('merge-busy').textContent === 'idle'", 60, "render idle")
    before = chrome.run(_IMG_SUM, "merge-preview")
    seq = int(chrome.run("return document.getElementById('merge-preview').dataset.seq"))
    slider = "#merge-form input[name=erode]"
    assert chrome.run(f"return document.querySelector('{slider}').type") == "range"
    width = chrome.run(f"return document.querySelector('{slider}').getBoundingClientRect().width")
    height = chrome.run(f"return document.querySelector('{slider}').getBoundingClientRect().height")
    chrome.click_points(slider, [(width * 0.75, height / 2)])  # a real click on the slider track
    assert int(chrome.run(f"return Number(document.querySelector('{slider}').value)")) > 50
    chrome.wait(f"return Number(document.getElementById('merge-preview').dataset.seq) > {seq} && "
                "document.getElementById('merge-busy').textContent === 'idle'", 120, "a new preview")
    after = chrome.run(_IMG_SUM, "merge-preview")
    assert abs(after - before) > 1000, "the preview did not change"


def test_training_monitor_and_faceset_trash_in_the_browser(chrome, studio, merge_model):
    from doppel.core.images import write_image
    from doppel.train.history import History
    from doppel.train.status import write_status

    write_status(merge_model, state="training", iteration=300, target_iterations=1000, loss=0.125,
                 iterations_per_second=2.5, eta_seconds=280.0, val_loss=0.15, device="cpu")
    history = History(merge_model)
    for i in range(1, 301, 10):
        history.append({"iteration": i, "seconds": i / 2.5, "loss": 1.0 / i, "val_loss": 1.1 / i})
    write_image(merge_model / "previews" / "latest.png", np.full((64, 192, 3), (40, 160, 220), np.uint8))
    _open(chrome, studio.url + "/")
    chrome.wait("return document.getElementById('train-stats').textContent.includes('300 / 1000')", 30, "status")
    stats = chrome.text("#train-stats")
    assert "0.1250" in stats and "2.50 it/s" in stats and "4 min 40 s" in stats
    chrome.wait("return document.getElementById('train-preview').naturalWidth === 192", 30, "the preview")
    assert chrome.run(_CANVAS_SUM, "train-chart") > chrome.run(
        "const c = document.createElement('canvas'); c.width = 560; c.height = 240; const g = c.getContext('2d');"
        "g.fillStyle = '#111'; g.fillRect(0, 0, 560, 240); const d = g.getImageData(0, 0, 560, 240).data;"
        "let s = 0; for (let i = 0; i < d.length; i += 4) s += d[i] * 3 + d[i + 1] * 5 + d[i + 2] * 7; return s;")
    # The fixed architecture options of an existing model are locked; the others can change.
    chrome.wait("return !!document.querySelector('#train-options [name=resolution]')", 30, "the options form")
    assert chrome.run("return document.querySelector('#train-options [name=resolution]').disabled")
    assert not chrome.run("return document.querySelector('#train-options [name=batch_size]').disabled")
    chrome.click("#train-stop")
    chrome.wait("return document.getElementById('message').textContent.startsWith('stop requested')", 20, "stop")
    assert (merge_model / "STOP").exists()

    chrome.click("nav button[data-tab=faces]")
    chrome.wait("return document.querySelectorAll('#faces-grid figure').length > 0", 30, "the faceset grid")
    names = chrome.run("return [...document.querySelectorAll('#faces-grid figure')].slice(0, 2).map((f) => f.dataset.name)")
    for name in names:
        chrome.double_click(f"#faces-grid figure[data-name='{name}'] img")  # double-click selects
    assert chrome.run("return document.querySelectorAll('#faces-grid figure.selected').length") == 2
    chrome.click("#faces-trash")
    chrome.wait("return document.getElementById('message').textContent.startsWith('2 faces moved')", 30, "trash")
    assert not any((studio.root / SRC / n).exists() for n in names)
    assert all((studio.root / SRC / "_trash" / n).exists() for n in names)


def test_manual_fix_in_the_browser(chrome, studio):
    import json

    aligned = studio.root / "data_dst/aligned"
    entry = next(f for f in json.loads((aligned / "alignments.json").read_text())["frames"] if f["faces"])
    known = read_metadata(aligned / entry["faces"][0])
    _open(chrome, studio.url + "/")
    chrome.click("nav button[data-tab=fix]")
    chrome.type("#fix-index", str(entry["index"]))
    chrome.click("#fix-load")
    chrome.wait("return document.getElementById('fix-canvas').width === 640", 30, "the frame")
    s = 640 / known.source.width
    x0, y0, x1, y1 = known.source_rect
    chrome.drag("#fix-canvas", (x0 * s, y0 * s), (x1 * s, y1 * s))
    chrome.click("#fix-detect")
    chrome.wait("return document.getElementById('message').textContent.startsWith('landmarks from mesh')", 60, "landmarks")
    # The same box through the API gives (nearly) the landmarks the page shows: drag its nose tip.
    _, found = studio.json("/api/fix/detect", {"index": entry["index"], "box": [x0, y0, x1, y1]})
    nose = np.asarray(found["landmarks"][30])
    chrome.drag("#fix-canvas", tuple(nose * s), tuple(nose * s + 12))
    chrome.click("#fix-save")
    chrome.wait("return document.getElementById('message').textContent.startsWith('saved data_dst/aligned/')", 60, "saved")
    name = chrome.text("#message").rsplit("/", 1)[1]
    new = read_metadata(aligned / name)
    assert new.detector == "manual" and np.abs(new.source_landmarks - known.source_landmarks).mean() < 6
    assert np.abs(new.source_landmarks[30] - (nose + 12 / s)).max() < 2  # the dragged point is where it was dropped
    frames = {f["index"]: f["faces"] for f in json.loads((aligned / "alignments.json").read_text())["frames"]}
    assert name in frames[entry["index"]]


def test_exposed_studio_page_needs_token_and_refuses_traversal(chrome, exposed_studio):
    chrome.get(exposed_studio.url + "/")
    assert "token required" in chrome.run("return document.body.innerText")
    _open(chrome, exposed_studio.url + f"/?token={exposed_studio.studio.token}")  # then the cookie carries it
    assert chrome.run("return location.search") == ""  # the token is not left in the address bar
    statuses = chrome.run_async(
        "const done = arguments[arguments.length - 1];"
        "Promise.all(['/api/info', '/api/faces?dir=..%2F..', '/api/face/image?dir=data_src/aligned&name=..%2F..%2F..%2Fetc%2Fpasswd']"
        ".map((u) => fetch(u).then((r) => r.status))).then(done);"
    )
    assert statuses == [200, 403, 403]


_CANVAS_SUM = """
const c = document.getElementById(arguments[0]);
const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
let s = 0; for (let i = 0; i < d.length; i += 4) s += d[i] * 3 + d[i + 1] * 5 + d[i + 2] * 7;
return s;
"""

_IMG_SUM = """
const img = document.getElementById(arguments[0]);
const c = document.createElement('canvas'); c.width = img.naturalWidth; c.height = img.naturalHeight;
const g = c.getContext('2d'); g.drawImage(img, 0, 0);
const d = g.getImageData(0, 0, c.width, c.height).data;
let s = 0; for (let i = 0; i < d.length; i += 4) s += d[i] * 3 + d[i + 1] * 5 + d[i + 2] * 7;
return s;
"""
