"""AdaBelief without bias correction, lr dropout, clipnorm, and state through safetensors."""

from __future__ import annotations

import math

import torch
from safetensors.torch import load_file, save_file

from doppel.train.optim import AdaBelief, RMSprop, _clip_global_norm, _keep_masks


def test_adabelief_step_is_dfl_formula():
    w = torch.nn.Parameter(torch.tensor([1.0, -2.0, 3.0]))
    g = torch.tensor([0.5, -1.0, 2.0])
    opt = AdaBelief([w], lr=0.1, eps=1e-7)
    w0 = w.detach().clone()
    for _ in range(2):
        w.grad = g.clone()
        opt.step()
    m1 = 0.1 * g
    v1 = 0.001 * (g - m1) ** 2
    w1 = w0 - 0.1 * m1 / (v1.sqrt() + 1e-7)
    m2 = 0.9 * m1 + 0.1 * g
    v2 = 0.999 * v1 + 0.001 * (g - m2) ** 2
    w2 = w1 - 0.1 * m2 / (v2.sqrt() + 1e-7)
    assert torch.allclose(w.detach(), w2, rtol=1e-5)


def test_lr_dropout_moves_a_third_of_the_weights_and_follows_the_cosine():
    torch.manual_seed(0)
    w = torch.nn.Parameter(torch.zeros(100_000))
    opt = RMSprop([w], lr=1e-3, lr_dropout=0.3, lr_cos=500)
    w.grad = torch.ones_like(w)
    opt.step()
    share = float((w.detach() != 0).float().mean())
    assert 0.28 < share < 0.32
    opt.state[w]["step"].fill_(250)  # half a cycle: cos = -1, the lr is zero
    before = w.detach().clone()
    opt.step()
    assert torch.equal(before, w.detach())
    assert math.isclose((math.cos(250 * 2 * math.pi / 500) + 1) / 2, 0.0, abs_tol=1e-12)


def test_lr_warmup_ramps_the_step_linearly_then_holds():
    moves = []
    for warmup in (0, 4):
        w = torch.nn.Parameter(torch.zeros(3))
        opt = RMSprop([w], lr=1e-3, rho=0.0, lr_warmup=warmup)  # rho 0: every step is lr * sign(g)
        steps = []
        for _ in range(6):
            before = w.detach().clone()
            w.grad = torch.ones_like(w)
            opt.step()
            steps.append(float((before - w.detach())[0]))
        moves.append(steps)
    full, ramped = moves
    assert all(math.isclose(s, 1e-3, rel_tol=1e-4) for s in full)
    assert [round(r / f, 3) for r, f in zip(ramped, full)] == [0.25, 0.5, 0.75, 1.0, 1.0, 1.0]


def test_lr_dropout_masks_are_unbiased_at_every_position():
    # Four 16-bit draws come from each 64-bit word: none of the four may be biased, and odd sizes work.
    torch.manual_seed(0)
    big, odd = torch.zeros(400_000), torch.zeros(3, 5, 7, 3)
    first, small = _keep_masks([big, odd], 0.3)
    assert first.shape == big.shape and small.shape == odd.shape and small.dtype == torch.bool
    lanes = first.view(-1, 4).float().mean(0)
    assert ((lanes > 0.29) & (lanes < 0.31)).all(), lanes
    assert not torch.equal(first, _keep_masks([big], 0.3)[0])  # a new mask every step


def test_clipnorm_is_global():
    grads = [torch.full((10,), 3.0), torch.full((5,), 4.0)]
    clipped = _clip_global_norm(grads, 1.0)
    total = math.sqrt(sum(float(c.square().sum()) for c in clipped))
    assert abs(total - 1.0) < 1e-4
    assert torch.allclose(clipped[0] / clipped[1][0], grads[0] / grads[1][0])  # direction kept
    small = [torch.full((4,), 0.01)]
    assert torch.equal(_clip_global_norm(small, 1.0)[0], small[0])


def test_state_round_trips_through_safetensors(tmp_path):
    torch.manual_seed(0)
    net = torch.nn.Linear(8, 4)
    opt = AdaBelief(net.parameters(), lr=1e-2)
    x = torch.randn(16, 8)
    for _ in range(3):
        opt.zero_grad()
        net(x).square().mean().backward()
        opt.step()
    state = opt.state_dict()
    flat = {f"{i}.{k}": v for i, s in state["state"].items() for k, v in s.items()}
    assert all(isinstance(v, torch.Tensor) for v in flat.values())
    save_file(flat, str(tmp_path / "opt.safetensors"))
    back = load_file(str(tmp_path / "opt.safetensors"))
    net2 = torch.nn.Linear(8, 4)
    net2.load_state_dict(net.state_dict())
    opt2 = AdaBelief(net2.parameters(), lr=1e-2)
    restored = {"param_groups": state["param_groups"], "state": {}}
    for key, v in back.items():
        i, k = key.split(".", 1)
        restored["state"].setdefault(int(i), {})[k] = v
    opt2.load_state_dict(restored)
    for o, n in ((opt, net), (opt2, net2)):
        o.zero_grad()
        n(x).square().mean().backward()
        o.step()
    assert torch.equal(net.weight, net2.weight)


def test_adam_matches_torch():
    from doppel.train.optim import Adam

    torch.manual_seed(0)
    a, b = torch.nn.Linear(6, 3), torch.nn.Linear(6, 3)
    b.load_state_dict(a.state_dict())
    ours, ref = Adam(a.parameters(), lr=1e-2, eps=1e-7), torch.optim.Adam(b.parameters(), lr=1e-2, eps=1e-7)
    x = torch.randn(8, 6)
    for _ in range(3):
        for net, opt in ((a, ours), (b, ref)):
            opt.zero_grad()
            net(x).square().mean().backward()
            opt.step()
    assert torch.allclose(a.weight, b.weight, atol=1e-6)
