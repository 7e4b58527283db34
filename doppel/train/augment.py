"""Sample augmentation as batched torch ops, so the same code runs in a CPU worker or on the GPU.

Per sample one random affine (rotation, scale, shift, flip) is shared by the model input, the
target and the masks; a random warp (a jittered coarse grid, smoothly upsampled) bends the input
only, so the model learns to undo it. Everything is one `grid_sample` per tensor.

Random numbers come from a CPU `torch.Generator`, so a batch is the same on every device.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class AugmentSettings:
    rotation_deg: float = 10.0  # uniform in +-rotation
    scale: float = 0.15  # uniform in [1/(1+scale), 1+scale]
    shift: float = 0.05  # uniform in +- share of the width
    flip: bool = False  # mirror with probability 0.4 (as DFL)
    warp: bool = True  # random warp on the input only
    hsv_power: float = 0.0  # random hue/saturation/value jitter on the input only (0..0.3)
    zoom: float = 1.0  # fixed extra scale (src_face_scale): > 1 makes the face larger
    blur_out_mask: bool = False  # blur what lies outside the face mask (input and target)


def random_affine(n: int, settings: AugmentSettings, gen: torch.Generator) -> torch.Tensor:
    """N x 2 x 3 matrices in grid_sample's normalised coordinates (output -> input)."""
    u = torch.rand(n, 5, generator=gen, dtype=torch.float64)
    angle = (u[:, 0] * 2 - 1) * math.radians(settings.rotation_deg)
    log_s = math.log1p(settings.scale)
    scale = torch.exp((u[:, 1] * 2 - 1) * log_s) * settings.zoom
    shift = (u[:, 2:4] * 2 - 1) * settings.shift * 2  # normalised width is 2
    flip = torch.where(u[:, 4] < 0.4, -1.0, 1.0) if settings.flip else torch.ones(n, dtype=torch.float64)
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.zeros(n, 2, 3, dtype=torch.float64)
    theta[:, 0, 0] = cos * flip
    theta[:, 0, 1] = -sin
    theta[:, 1, 0] = sin * flip
    theta[:, 1, 1] = cos
    theta[:, :, 2] = shift
    return theta.float()


def random_warp_offsets(n: int, size: int, gen: torch.Generator, device: torch.device | str = "cpu") -> torch.Tensor:
    """N x H x W x 2 displacement (normalised units): a coarse grid of cell w/2, w/4 or w/8 whose
    interior nodes move by N(0, 0.24 cell) (cut at 2.5 sigma), upsampled smoothly to full size.
    The random nodes come from `gen` on the CPU; the upsampling runs on `device`."""
    out = torch.empty(n, 2, size, size, device=device)
    cells = torch.randint(1, 4, (n,), generator=gen)
    for i in range(n):
        c = 2 ** int(cells[i])
        nodes = torch.randn(2, c + 1, c + 1, generator=gen).clamp_(-2.5, 2.5) * (0.24 * 2.0 / c)
        nodes[:, 0, :] = nodes[:, -1, :] = nodes[:, :, 0] = nodes[:, :, -1] = 0  # keep the border
        out[i] = F.interpolate(nodes[None].to(device), size=(size, size), mode="bicubic", align_corners=True)[0]
    return out.permute(0, 2, 3, 1)


def hsv_jitter(images: torch.Tensor, power: float, gen: torch.Generator) -> torch.Tensor:
    """Hue rotation about the grey axis, saturation and value scaling, each within +-power (BGR in [0,1])."""
    n = images.shape[0]
    u = (torch.rand(n, 3, generator=gen) * 2 - 1) * power
    u = u.to(images.device)
    hue = u[:, 0] * math.pi  # power 0.3 turns the hue by up to 54 degrees
    cos, sin = torch.cos(hue), torch.sin(hue)
    # Rodrigues rotation about (1,1,1)/sqrt(3): the same in RGB and BGR up to the sign of the angle.
    k = 1.0 / 3.0
    s3 = math.sqrt(k)
    eye = torch.eye(3, device=images.device)
    ones = torch.full((3, 3), k, device=images.device)
    cross = torch.tensor([[0, -1, 1], [1, 0, -1], [-1, 1, 0]], dtype=images.dtype, device=images.device) * s3
    rot = cos[:, None, None] * eye + (1 - cos)[:, None, None] * ones + sin[:, None, None] * cross
    out = torch.einsum("nij,njhw->nihw", rot, images)
    grey = out.mean(dim=1, keepdim=True)
    out = grey + (out - grey) * (1 + u[:, 1]).view(n, 1, 1, 1)
    out = out * (1 + u[:, 2]).view(n, 1, 1, 1)
    return out.clamp(0, 1)


def blur_outside(images: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Keep the face sharp and blur the rest (box blur of about 1/16 of the width, twice)."""
    k = max(3, images.shape[-1] // 16) | 1
    blurred = images
    for _ in range(2):
        blurred = F.avg_pool2d(F.pad(blurred, [k // 2] * 4, mode="replicate"), k, stride=1)
    return images * mask + blurred * (1 - mask)


def augment(
    images: torch.Tensor,
    masks: torch.Tensor,
    settings: AugmentSettings,
    gen: torch.Generator,
    hsv: bool = False,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """images N,3,H,W and masks N,M,H,W float in [0,1] on any device -> (input, target, masks).

    Random numbers are drawn on the CPU from `gen` in a fixed order, then moved to the device.
    """
    n, _, h, w = images.shape
    if settings.blur_out_mask:
        images = blur_outside(images, masks[:, :1])
    theta = random_affine(n, settings, gen).to(images.device)
    base = F.affine_grid(theta, [n, 1, h, w], align_corners=False)
    target = F.grid_sample(images, base, mode="bilinear", padding_mode="border", align_corners=False)
    masks = F.grid_sample(masks, base, mode="bilinear", padding_mode="zeros", align_corners=False)
    if settings.warp:
        ident = torch.eye(2, 3, device=images.device).expand(n, 2, 3)
        bent = F.affine_grid(ident, [n, 1, h, w], align_corners=False) + random_warp_offsets(n, h, gen, images.device)
        # warp in output space first, then the shared affine: input = A(p + d(p))
        grid = torch.einsum("nij,nhwj->nhwi", theta[:, :, :2], bent) + theta[:, None, None, :, 2]
        inputs = F.grid_sample(images, grid, mode="bilinear", padding_mode="border", align_corners=False)
    else:
        inputs = target
    if hsv and settings.hsv_power > 0:
        inputs = hsv_jitter(inputs, settings.hsv_power, gen)
    return inputs, target, masks
