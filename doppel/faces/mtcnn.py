"""MTCNN face detector (Zhang et al. 2016) in plain PyTorch: batched, on any torch.device.

Weights are the P/R/O-Net files that the facenet-pytorch wheel ships (`facenet_pytorch/data/*.pt`),
loaded with `torch.load(weights_only=True)`. The package itself is never imported: it imports
torchvision, which does not load beside the CPU torch wheel. NMS and crop resampling are plain torch.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from doppel.core.device import pick_device
from doppel.core.errors import DoppelError
from doppel.faces.detection import Detection, Detector


class PNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1, self.prelu1 = nn.Conv2d(3, 10, 3), nn.PReLU(10)
        self.conv2, self.prelu2 = nn.Conv2d(10, 16, 3), nn.PReLU(16)
        self.conv3, self.prelu3 = nn.Conv2d(16, 32, 3), nn.PReLU(32)
        self.conv4_1, self.conv4_2 = nn.Conv2d(32, 2, 1), nn.Conv2d(32, 4, 1)

    def forward(self, x):
        x = F.max_pool2d(self.prelu1(self.conv1(x)), 2, 2, ceil_mode=True)
        x = self.prelu3(self.conv3(self.prelu2(self.conv2(x))))
        return self.conv4_2(x), F.softmax(self.conv4_1(x), dim=1)


class RNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1, self.prelu1 = nn.Conv2d(3, 28, 3), nn.PReLU(28)
        self.conv2, self.prelu2 = nn.Conv2d(28, 48, 3), nn.PReLU(48)
        self.conv3, self.prelu3 = nn.Conv2d(48, 64, 2), nn.PReLU(64)
        self.dense4, self.prelu4 = nn.Linear(576, 128), nn.PReLU(128)
        self.dense5_1, self.dense5_2 = nn.Linear(128, 2), nn.Linear(128, 4)

    def forward(self, x):
        x = F.max_pool2d(self.prelu1(self.conv1(x)), 3, 2, ceil_mode=True)
        x = F.max_pool2d(self.prelu2(self.conv2(x)), 3, 2, ceil_mode=True)
        x = self.prelu3(self.conv3(x))
        x = self.prelu4(self.dense4(x.permute(0, 3, 2, 1).flatten(1)))  # weights come from a W,H-major layout
        return self.dense5_2(x), F.softmax(self.dense5_1(x), dim=1)


class ONet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1, self.prelu1 = nn.Conv2d(3, 32, 3), nn.PReLU(32)
        self.conv2, self.prelu2 = nn.Conv2d(32, 64, 3), nn.PReLU(64)
        self.conv3, self.prelu3 = nn.Conv2d(64, 64, 3), nn.PReLU(64)
        self.conv4, self.prelu4 = nn.Conv2d(64, 128, 2), nn.PReLU(128)
        self.dense5, self.prelu5 = nn.Linear(1152, 256), nn.PReLU(256)
        self.dense6_1, self.dense6_2, self.dense6_3 = nn.Linear(256, 2), nn.Linear(256, 4), nn.Linear(256, 10)

    def forward(self, x):
        x = F.max_pool2d(self.prelu1(self.conv1(x)), 3, 2, ceil_mode=True)
        x = F.max_pool2d(self.prelu2(self.conv2(x)), 3, 2, ceil_mode=True)
        x = F.max_pool2d(self.prelu3(self.conv3(x)), 2, 2, ceil_mode=True)
        x = self.prelu4(self.conv4(x))
        x = self.prelu5(self.dense5(x.permute(0, 3, 2, 1).flatten(1)))
        return self.dense6_2(x), self.dense6_3(x), F.softmax(self.dense6_1(x), dim=1)


def weights_dir() -> Path:
    spec = importlib.util.find_spec("facenet_pytorch")  # locates the folder without importing the package
    if spec is None or not spec.submodule_search_locations:
        raise DoppelError("the MTCNN weights are missing", hint="pip install --no-deps facenet-pytorch==2.6.0, or use --detector mediapipe")
    return Path(list(spec.submodule_search_locations)[0]) / "data"


def _load(net: nn.Module, name: str, device: torch.device) -> nn.Module:
    path = weights_dir() / f"{name}.pt"
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (OSError, RuntimeError) as e:
        raise DoppelError(f"cannot load MTCNN weights ({e})", path, hint="Reinstall facenet-pytorch") from e
    net.load_state_dict(state)
    return net.to(device).eval()


def nms(boxes: torch.Tensor, scores: torch.Tensor, threshold: float, mode: str = "union") -> torch.Tensor:
    """Greedy non-maximum suppression; indices of kept boxes, best first. `mode` "min" divides the overlap
    by the smaller box (MTCNN's last stage). The boxes go to the host once; each round then drops every
    box that overlaps the best remaining one, so the cost is (kept boxes) x (boxes), not boxes squared."""
    if boxes.numel() == 0:
        return torch.zeros(0, dtype=torch.long, device=boxes.device)
    b = boxes[:, :4].detach().cpu().numpy().astype(np.float64)
    order = scores.detach().cpu().numpy().argsort()[::-1]
    area = (b[:, 2] - b[:, 0] + 1) * (b[:, 3] - b[:, 1] + 1)
    keep = []
    while order.size:
        i, rest = order[0], order[1:]
        keep.append(i)
        iw = np.clip(np.minimum(b[i, 2], b[rest, 2]) - np.maximum(b[i, 0], b[rest, 0]) + 1, 0, None)
        ih = np.clip(np.minimum(b[i, 3], b[rest, 3]) - np.maximum(b[i, 1], b[rest, 1]) + 1, 0, None)
        inter = iw * ih
        denom = np.minimum(area[i], area[rest]) if mode == "min" else area[i] + area[rest] - inter
        order = rest[inter / denom <= threshold]
    return torch.as_tensor(np.array(keep, np.int64), device=boxes.device)


def _batched_nms(boxes, scores, groups, threshold, mode="union"):
    """NMS within each group (image index): offset groups so their boxes never overlap."""
    if boxes.numel() == 0:
        return torch.zeros(0, dtype=torch.long, device=boxes.device)
    offset = groups.to(boxes.dtype)[:, None] * (boxes[:, :4].max() + 1)
    return nms(boxes[:, :4] + offset, scores, threshold, mode)


def _square(boxes: torch.Tensor) -> torch.Tensor:
    w, h = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    side = torch.maximum(w, h)
    out = boxes.clone()
    out[:, 0] = boxes[:, 0] + w * 0.5 - side * 0.5
    out[:, 1] = boxes[:, 1] + h * 0.5 - side * 0.5
    out[:, 2:4] = out[:, :2] + side[:, None]
    return out


def _regress(boxes: torch.Tensor, reg: torch.Tensor) -> torch.Tensor:
    w = (boxes[:, 2] - boxes[:, 0] + 1)[:, None]
    h = (boxes[:, 3] - boxes[:, 1] + 1)[:, None]
    out = boxes.clone()
    out[:, :4] = boxes[:, :4] + reg * torch.cat([w, h, w, h], 1)
    return out


def _crops(images: torch.Tensor, image_index: torch.Tensor, boxes: torch.Tensor, size: int) -> torch.Tensor:
    """Resample each box of its image to size x size (zeros outside), one grid_sample per image: the
    crops of an image are stacked into one tall sampling grid, so the image is never copied per box."""
    n, c, h, w = images.shape
    out = torch.empty(len(boxes), c, size, size, device=images.device, dtype=images.dtype)
    steps = (torch.arange(size, device=images.device, dtype=images.dtype) + 0.5) / size  # pixel centres
    for i in range(n):
        sel = (image_index == i).nonzero().flatten()
        if len(sel) == 0:
            continue
        b = boxes[sel]
        x0, y0, x1, y1 = b[:, 0:1], b[:, 1:2], b[:, 2:3] + 1, b[:, 3:4] + 1
        gx = (x0 + (x1 - x0) * steps) / w * 2 - 1  # K x size, in grid_sample's [-1, 1]
        gy = (y0 + (y1 - y0) * steps) / h * 2 - 1
        grid = torch.stack([gx[:, None, :].expand(-1, size, -1), gy[:, :, None].expand(-1, -1, size)], -1)
        sampled = F.grid_sample(images[i : i + 1], grid.reshape(1, len(sel) * size, size, 2),
                                mode="bilinear", padding_mode="zeros", align_corners=False)
        out[sel] = sampled.reshape(c, len(sel), size, size).permute(1, 0, 2, 3)
    return out


class MTCNNDetector(Detector):
    name = "mtcnn"
    batched = True

    def __init__(self, device=None, min_score: float = 0.5, min_size: int = 20, factor: float = 0.709,
                 thresholds: tuple[float, float, float] = (0.6, 0.7, 0.7)):
        self.device = pick_device(device)
        self.min_size, self.factor, self.thresholds = min_size, factor, thresholds
        self.min_score = max(min_score, thresholds[2])
        self.pnet = _load(PNet(), "pnet", self.device)
        self.rnet = _load(RNet(), "rnet", self.device)
        self.onet = _load(ONet(), "onet", self.device)

    def detect(self, image: np.ndarray) -> list[Detection]:
        return self.detect_batch([image])[0]

    def detect_batch(self, images: list[np.ndarray]) -> list[list[Detection]]:
        """Faces of several BGR images; images of the same size share one pass (one batch per network)."""
        found: list[list[Detection]] = [[] for _ in images]
        groups: dict[tuple, list[int]] = {}
        for i, image in enumerate(images):
            groups.setdefault(image.shape, []).append(i)
        for members in groups.values():
            for i, dets in zip(members, self._detect_same_size([images[i] for i in members])):
                found[i] = dets
        return found

    @torch.inference_mode()
    def _detect_same_size(self, images: list[np.ndarray]) -> list[list[Detection]]:
        """Faces of several same-sized BGR images in one pass (one batch per network).

        Runs in float32 on every device: the nets are tiny (the time goes to the image pyramid and NMS),
        and their score thresholds were calibrated in float32, so autocast would buy little and risk misses.
        """
        rgb = np.stack([im[:, :, ::-1] for im in images])
        x = torch.as_tensor(rgb, device=self.device).permute(0, 3, 1, 2).float()
        x = (x - 127.5) * 0.0078125
        boxes, image_index = self._stage1(x)
        boxes, image_index = self._stage2(x, boxes, image_index)
        boxes, points, image_index = self._stage3(x, boxes, image_index)
        boxes, points, image_index = boxes.cpu().numpy(), points.cpu().numpy(), image_index.cpu().numpy()
        found: list[list[Detection]] = [[] for _ in images]
        for b, p, i in zip(boxes, points, image_index):
            if b[4] >= self.min_score:
                found[i].append(Detection((float(b[0]), float(b[1]), float(b[2]), float(b[3])), float(b[4]), p))
        return found

    def _stage1(self, x: torch.Tensor):
        n, _, h, w = x.shape
        m = 12.0 / self.min_size
        scale, side = m, min(h, w) * m
        all_boxes, all_index = [], []
        while side >= 12:
            scaled = F.interpolate(x, size=(int(h * scale + 1), int(w * scale + 1)), mode="area")
            reg, prob = self.pnet(scaled)
            mask = prob[:, 1] >= self.thresholds[0]
            where = mask.nonzero()  # image, y, x
            score = prob[:, 1][mask]
            r = reg.permute(0, 2, 3, 1)[mask]
            xy = where[:, [2, 1]].to(x.dtype)
            q1 = ((2 * xy + 1) / scale).floor()
            q2 = ((2 * xy + 12) / scale).floor()
            boxes = torch.cat([q1, q2, score[:, None], r], 1)
            keep = _batched_nms(boxes, score, where[:, 0], 0.5)
            all_boxes.append(boxes[keep])
            all_index.append(where[keep, 0])
            scale *= self.factor
            side *= self.factor
        boxes, index = torch.cat(all_boxes), torch.cat(all_index)
        keep = _batched_nms(boxes, boxes[:, 4], index, 0.7)
        boxes, index = boxes[keep], index[keep]
        refined = _regress(boxes[:, :5], boxes[:, 5:9])
        return _square(refined), index

    def _stage2(self, x, boxes, index):
        if len(boxes) == 0:
            return boxes, index
        reg, prob = self.rnet(_crops(x, index, boxes.trunc(), 24))
        score = prob[:, 1]
        ok = score > self.thresholds[1]
        boxes = torch.cat([boxes[ok, :4], score[ok, None]], 1)
        reg, index = reg[ok], index[ok]
        keep = _batched_nms(boxes, boxes[:, 4], index, 0.7)
        return _square(_regress(boxes[keep], reg[keep])), index[keep]

    def _stage3(self, x, boxes, index):
        if len(boxes) == 0:
            return boxes, torch.zeros(0, 5, 2, device=x.device), index
        boxes = boxes.trunc()
        reg, marks, prob = self.onet(_crops(x, index, boxes, 48))
        score = prob[:, 1]
        ok = score > self.thresholds[2]
        boxes, reg, marks, index = torch.cat([boxes[ok, :4], score[ok, None]], 1), reg[ok], marks[ok], index[ok]
        w = (boxes[:, 2] - boxes[:, 0] + 1)[:, None]
        h = (boxes[:, 3] - boxes[:, 1] + 1)[:, None]
        points = torch.stack([w * marks[:, :5] + boxes[:, 0:1] - 1, h * marks[:, 5:] + boxes[:, 1:2] - 1], -1)
        boxes = _regress(boxes, reg)
        keep = _batched_nms(boxes, boxes[:, 4], index, 0.7, mode="min")
        return boxes[keep], points[keep], index[keep]
