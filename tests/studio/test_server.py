"""The studio's HTTP API on a workspace of real faces: token, path safety, CSRF and Host checks,
the faceset browser, XSeg labels, the training monitor and merge settings (plain urllib)."""

from __future__ import annotations

import json
import os
from urllib.parse import quote

import cv2
import numpy as np
import pytest

from doppel.core.images import TRASH_DIR, list_images
from doppel.core.metadata import read_metadata

SRC = "data_src/aligned"


# ---- access --------------------------------------------------------------------------------


def test_exposed_studio_refuses_requests_without_token(exposed_studio):
    token = exposed_studio.studio.token
    assert token and len(token) >= 24
    assert exposed_studio.request("/api/info")[0] == 401
    assert exposed_studio.request("/")[0] == 401  # the page itself too
    assert exposed_studio.request("/api/info?token=wrong")[0] == 401
    assert exposed_studio.request("/api/info", headers={"X-Doppel-Token": token[:-1] + ("y" if token.endswith("x") else "x")})[0] == 401
    assert exposed_studio.request("/api/info", headers={"X-Doppel-Token": token})[0] == 200
    status, _, _, headers = exposed_studio.request(f"/?token={token}")
    assert status == 200 and f"doppel_token={token}" in headers["Set-Cookie"] and "HttpOnly" in headers["Set-Cookie"]
    assert exposed_studio.request("/api/info", headers={"Cookie": f"doppel_token={token}"})[0] == 200
    # A POST without the token changes nothing.
    status, _ = exposed_studio.json("/api/faces/trash", {"dir": SRC, "names": [list_images(exposed_studio.root / SRC)[0].name]})
    assert status == 401 and not (exposed_studio.root / SRC / TRASH_DIR).exists()


def test_localhost_studio_needs_no_token_but_checks_host(studio):
    assert studio.studio.token is None
    assert studio.request("/api/info")[0] == 200
    assert studio.request("/api/info", headers={"Host": "evil.example:8765"})[0] == 403  # DNS rebinding


def test_post_without_custom_header_is_refused(studio):
    name = list_images(studio.root / SRC)[0].name
    status, _ = studio.json("/api/faces/trash", {"dir": SRC, "names": [name]}, post_header=False)
    assert status == 403 and (studio.root / SRC / name).is_file()


@pytest.mark.parametrize(
    "path",
    [
        "/api/faces?dir=..",
        "/api/faces?dir=../..",
        "/api/faces?dir=/etc",
        "/api/faces?dir=data_src/../../",
        "/api/faces?dir=%2e%2e%2f%2e%2e",
        "/api/faces?dir=data_src%5c..%5c..",
        "/api/face/image?dir=data_src/aligned&name=../../../../etc/passwd",
        "/api/face/image?dir=data_src/aligned&name=..",
        "/api/face/meta?dir=/etc&name=passwd",
        "/api/train/status?model=../../",
        "/api/train/preview?model=/tmp",
    ],
)
def test_path_traversal_refused(studio, path):
    status, _, body, _ = studio.request(path)
    assert status == 403, (path, status, body[:200])


def test_traversal_refused_for_writes_and_symlinks(studio, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.jpg").write_bytes(b"not yours")
    os.symlink(outside, studio.root / "link")
    assert studio.request("/api/faces?dir=link")[0] == 403
    assert studio.request("/api/face/image?dir=data_src/aligned&name=..%2F..%2Flink%2Fsecret.jpg")[0] == 403
    status, _ = studio.json("/api/faces/trash", {"dir": "../outside", "names": ["secret.jpg"]})
    assert status == 403 and (outside / "secret.jpg").is_file()
    status, _ = studio.json("/api/xseg/polygons", {"dir": "link", "name": "secret.jpg", "polygons": []})
    assert status == 403 and (outside / "secret.jpg").read_bytes() == b"not yours"
    status, _ = studio.json("/api/train/request", {"model": "../outside", "what": "stop"})
    assert status == 403 and not (outside / "STOP").exists()
    # Static files: only the bundled front end.
    assert studio.request("/static/../server.py")[0] in (403, 404)
    assert studio.request("/static/%2e%2e%2fserver.py")[0] == 404


# ---- faceset browser -------------------------------------------------------------------------


def test_faceset_pages_sort_meta_and_image(studio):
    status, info = studio.json("/api/info")
    assert status == 200
    dirs = {f["dir"]: f["faces"] for f in info["facesets"]}
    n = len(list_images(studio.root / SRC))
    assert dirs[SRC] == n and "data_dst/aligned" in dirs
    assert "yaw" in {m["name"] for m in info["sort_methods"]}

    _, page0 = studio.json(f"/api/faces?dir={SRC}&page=0&per_page=10")
    _, page1 = studio.json(f"/api/faces?dir={SRC}&page=1&per_page=10")
    assert page0["total"] == n and len(page0["items"]) == 10
    assert not {i["name"] for i in page0["items"]} & {i["name"] for i in page1["items"]}

    _, by_yaw = studio.json(f"/api/faces?dir={SRC}&sort=yaw&per_page=500")
    names = [i["name"] for i in by_yaw["items"] if not i["reject"]]
    yaws = [read_metadata(studio.root / SRC / name).pose.yaw for name in names]
    assert sorted(names) != names or len(set(yaws)) == 1  # really reordered, not the name order
    assert yaws == sorted(yaws) or yaws == sorted(yaws, reverse=True)

    name = page0["items"][0]["name"]
    status, meta = studio.json(f"/api/face/meta?dir={SRC}&name={quote(name)}")
    assert status == 200 and np.asarray(meta["landmarks"]).shape == (68, 2) and meta["size"] == 128
    status, ctype, data, _ = studio.request(f"/api/face/image?dir={SRC}&name={quote(name)}")
    assert status == 200 and ctype == "image/jpeg"
    assert cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR).shape == (128, 128, 3)


def test_final_sort_browses_all_and_applies_a_target(studio):
    folder = studio.root / SRC
    n = len(list_images(folder))
    status, ranked = studio.json(f"/api/faces?dir={SRC}&sort=final&per_page=500")
    assert status == 200 and ranked["total"] == n and not any(i["reject"] for i in ranked["items"])
    status, out = studio.json("/api/faces/sort", {"dir": SRC, "method": "final", "target": n - 3})
    assert status == 200 and out["kept"] == n - 3 and len(out["trashed"]) == 3
    assert len(list_images(folder)) + len(list((folder / TRASH_DIR).glob("*.jpg"))) == n


def test_trash_and_restore(studio):
    folder = studio.root / SRC
    names = [p.name for p in list_images(folder)[:2]]
    status, out = studio.json("/api/faces/trash", {"dir": SRC, "names": names})
    assert status == 200 and len(out["trashed"]) == 2
    assert not any((folder / n).exists() for n in names)
    assert len(list((folder / TRASH_DIR).glob("*.jpg"))) == 2
    _, trashed = studio.json(f"/api/faces/trashed?dir={SRC}")
    assert {e["original"] for e in trashed["entries"]} == set(names)
    status, out = studio.json("/api/faces/restore", {"dir": SRC, "names": None})
    assert status == 200 and all((folder / n).is_file() for n in names)


# ---- XSeg labels ------------------------------------------------------------------------------


def test_polygons_saved_in_metadata_and_shown_as_mask(studio):
    name = list_images(studio.root / SRC)[3].name
    polys = [
        {"kind": "include", "points": [[20, 20], [108, 20], [108, 108], [20, 108]]},
        {"kind": "exclude", "points": [[50, 50], [78, 50], [78, 78], [50, 78]]},
    ]
    status, out = studio.json("/api/xseg/polygons", {"dir": SRC, "name": name, "polygons": polys})
    assert status == 200 and out["polygons"] == 2
    assert read_metadata(studio.root / SRC / name).xseg_polygons == [
        {"kind": p["kind"], "points": [[float(x), float(y)] for x, y in p["points"]]} for p in polys
    ]
    status, ctype, data, _ = studio.request(f"/api/face/mask?dir={SRC}&name={quote(name)}&source=labels")
    mask = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE)
    assert status == 200 and ctype == "image/png"
    assert mask[30, 30] == 255 and mask[64, 64] == 0 and mask[5, 5] == 0
    status, out = studio.json("/api/xseg/polygons", {"dir": SRC, "name": name, "polygons": [{"kind": "bogus", "points": []}]})
    assert status == 400
    status, _ = studio.json("/api/xseg/apply", {"dir": SRC})
    assert status == 409  # no model trained yet: a clear answer, not a crash


# ---- training monitor -------------------------------------------------------------------------


def test_training_monitor_reads_status_and_writes_requests(studio):
    from doppel.core.images import write_image
    from doppel.train.history import History
    from doppel.train.status import write_status

    model = studio.root / "model"
    write_status(model, state="training", iteration=120, target_iterations=1000, loss=0.25,
                 iterations_per_second=3.0, eta_seconds=293.0, val_loss=0.3)
    history = History(model)
    for i in range(1, 121):
        history.append({"iteration": i, "seconds": i / 3, "loss": 1.0 / i, "val_loss": 1.2 / i if i % 20 == 0 else float("nan")})
    write_image(model / "previews" / "latest.png", np.full((64, 128, 3), 128, np.uint8))

    status, out = studio.json("/api/train/status")
    assert status == 200
    assert out["status"]["iteration"] == 120 and out["status"]["alive"]  # this very process wrote it
    assert len(out["history"]["loss"]) == 120 and len(out["history"]["val_loss"]) == 6
    assert out["history"]["loss"][-1] == [120, pytest.approx(1 / 120, rel=1e-3)]
    assert studio.request("/api/train/preview")[1] == "image/png"
    for what, file in (("save", "SAVE"), ("backup", "BACKUP"), ("stop", "STOP")):
        assert studio.json("/api/train/request", {"what": what})[0] == 200
        assert (model / file).exists()
    assert studio.json("/api/train/request", {"what": "format-disk"})[0] == 400


# ---- merge settings ---------------------------------------------------------------------------


def test_merge_settings_fields_and_save(studio):
    from doppel.merge.settings import MergeSettings

    status, out = studio.json("/api/merge/fields")
    assert status == 200
    fields = {f["name"]: f for f in out["fields"]}
    assert fields["blur"]["min"] == 0 and "xseg-prd" in fields["mask_mode"]["choices"]
    values = dict(out["values"], blur=37, mask_mode="xseg-dst")
    assert studio.json("/api/merge/save", {"settings": values})[0] == 200
    saved = MergeSettings.load(studio.root / "merge.json")
    assert saved.blur == 37 and saved.mask_mode == "xseg-dst"
    assert studio.json("/api/merge/save", {"settings": dict(values, blur=-5)})[0] == 400
    assert MergeSettings.load(studio.root / "merge.json").blur == 37  # a refused save changed nothing


def test_manual_fix_lists_frames_and_serves_them(studio):
    status, out = studio.json("/api/fix/frames")
    assert status == 200 and out["total"] > 0
    index = json.loads((studio.root / "data_dst/aligned/alignments.json").read_text())["frames"][0]["index"]
    status, ctype, data, _ = studio.request(f"/api/fix/frame?index={index}")
    assert status == 200 and ctype == "image/jpeg"
    assert cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR).shape == (512, 512, 3)


def test_manual_fix_detects_in_box_and_adds_the_face(studio):
    aligned = studio.root / "data_dst/aligned"
    index_file = json.loads((aligned / "alignments.json").read_text())
    entry = next(f for f in index_file["frames"] if f["faces"])
    known = read_metadata(aligned / entry["faces"][0])
    x0, y0, x1, y1 = known.source_rect
    status, out = studio.json("/api/fix/detect", {"index": entry["index"], "box": [x0, y0, x1, y1]})
    assert status == 200 and out["from"] == "mesh"
    found = np.asarray(out["landmarks"])
    assert found.shape == (68, 2) and np.abs(found - known.source_landmarks).mean() < 6  # same face, found again
    assert studio.json("/api/fix/detect", {"index": entry["index"], "box": [0, 0, 3, 3]})[0] == 400

    status, out = studio.json("/api/fix/save", {"index": entry["index"], "landmarks": found.tolist()})
    assert status == 200
    new = read_metadata(aligned / out["saved"])
    assert (new.size, new.face_type) == (known.size, known.face_type) and new.detector == "manual"
    assert np.abs(new.landmarks - known.landmarks).mean() < 3
    after = {f["index"]: f["faces"] for f in json.loads((aligned / "alignments.json").read_text())["frames"]}
    assert after[entry["index"]] == entry["faces"] + [out["saved"]]


@pytest.mark.slow
def test_studio_starts_a_real_training_run_and_monitors_it(studio):
    """`doppel train` started from the studio, in its own process; the monitor follows it."""
    import time

    options = {"resolution": 64, "ae_dims": 32, "e_dims": 16, "d_dims": 16, "d_mask_dims": 16, "batch_size": 2,
               "iterations": 8, "preview_every": 4, "status_seconds": 0.5, "workers": 0, "val_share": 0.0}
    status, out = studio.json("/api/train/start", {"model_type": "saehd", "options": options})
    assert status == 200, out
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        _, st = studio.json("/api/train/status")
        if st["job"] and not st["job"]["running"]:
            break
        time.sleep(1)
    log = (studio.root / "model" / "studio-train.log").read_text()
    assert st["job"]["error"] is None, log[-2000:]
    assert st["status"]["iteration"] == 8 and st["status"]["state"] == "stopped"
    assert st["preview"] and st["options"]["model_type"] == "saehd"
    fixed = {f["name"]: f for f in st["options"]["fields"]}
    assert fixed["resolution"]["fixed"] and fixed["resolution"]["value"] == 64
