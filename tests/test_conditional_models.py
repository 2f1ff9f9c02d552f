"""Class-conditional generators and critics (num_classes=) and label-conditioned penalties."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch import nn
from torch.testing import assert_close

import ganzoo
from ganzoo._input_gradient import _generic_critics, critic_input_gradient, supports_fast_input_gradient
from ganzoo.amp import AmpPolicy, input_gradient
from ganzoo.regularizers import GradientPenalty, R1Penalty

pytestmark = pytest.mark.usefixtures("one_thread")


def n_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


# ---------------------------------------------------------------- parameter counts, exact
def test_conditional_reference_parameter_counts_exact():
    # generator: + embedding 10 x 100 + first ConvT's extra 100 input channels (512 x 4 x 4 each)
    g = ganzoo.create_generator("dcgan", latent_dim=100, image_size=64, channels=3, num_classes=10)
    assert n_params(g) == 3_576_704 + 10 * 100 + 100 * 512 * 4 * 4 == 4_396_904
    # critic: + projection embedding 10 x (512 x 4 x 4), the last feature map flattened
    d = ganzoo.create_critic("dcgan", image_size=64, channels=3, norm="none", num_classes=10)
    assert n_params(d) == 2_763_776 + 10 * 512 * 4 * 4 == 2_845_696
    d = ganzoo.create_critic("dcgan", image_size=64, channels=3, norm="batch", num_classes=10)
    assert n_params(d) == 2_765_568 + 81_920 == 2_847_488


def test_conditional_digits_sizes_exact():
    # the benchmark's nets: 32 px grayscale, width 32 (base 4, last map 128 x 4 x 4)
    g = ganzoo.create_generator("dcgan", latent_dim=100, image_size=32, channels=1, width=32, num_classes=10)
    g0 = ganzoo.create_generator("dcgan", latent_dim=100, image_size=32, channels=1, width=32)
    assert n_params(g0) == 369_600 and n_params(g) == 369_600 + 10 * 100 + 100 * 128 * 16 == 575_400
    g = ganzoo.create_generator("dcgan", latent_dim=100, image_size=32, channels=1, width=32, num_classes=10, embed_dim=16)
    assert n_params(g) == 369_600 + 10 * 16 + 16 * 128 * 16 == 402_528
    d = ganzoo.create_critic("dcgan", image_size=32, channels=1, width=32, norm="none", num_classes=10)
    d0 = ganzoo.create_critic("dcgan", image_size=32, channels=1, width=32, norm="none")
    assert n_params(d0) == 166_400 and n_params(d) == 166_400 + 10 * 128 * 16 == 186_880


def test_conditional_mlp_parameter_counts_exact():
    # course guide: G 100 -> 256 -> 512 -> 784, D 784 -> 512 -> 256 -> 1
    g = ganzoo.create_generator("mlp", latent_dim=100, out_shape=(784,), hidden=(256, 512), num_classes=10)
    assert n_params(g) == 559_632 + 10 * 100 + 100 * 256 == 586_232
    d = ganzoo.create_critic("mlp", in_shape=(784,), hidden=(512, 256), num_classes=10)
    assert n_params(d) == 533_505 + 10 * 256 == 536_065
    d = ganzoo.create_critic("mlp", in_shape=(3,), hidden=(), num_classes=4)  # projection on the input
    assert n_params(d) == 3 + 1 + 4 * 3


@pytest.mark.parametrize("family", ["dcgan", "mlp"])
def test_without_num_classes_the_networks_are_unchanged(family):
    kwargs_g = {"dcgan": dict(latent_dim=8, image_size=16, channels=3, width=4),
                "mlp": dict(latent_dim=4, out_shape=(2,), hidden=(16, 16))}[family]
    kwargs_d = {"dcgan": dict(image_size=16, channels=3, width=4, norm="none"),
                "mlp": dict(in_shape=(2,), hidden=(16, 16))}[family]
    for kind, kwargs in (("generator", kwargs_g), ("critic", kwargs_d)):
        create = ganzoo.create_generator if kind == "generator" else ganzoo.create_critic
        torch.manual_seed(3)
        plain = create(family, **kwargs)
        torch.manual_seed(3)
        explicit = create(family, **kwargs, num_classes=None)
        assert all(k.startswith("net.") for k in plain.state_dict())  # no new keys
        assert ganzoo.get_config(plain)["kwargs"] == {k: list(v) if isinstance(v, tuple) else v for k, v in kwargs.items()}
        for a, b in zip(plain.state_dict().values(), explicit.state_dict().values()):
            assert torch.equal(a, b)  # same random draws: the same initial weights
        assert plain.num_classes is None


# ---------------------------------------------------------------- behaviour
CONDITIONAL = {
    "dcgan": (lambda: ganzoo.create_generator("dcgan", latent_dim=8, image_size=16, channels=3, width=4, num_classes=5),
              lambda: ganzoo.create_critic("dcgan", image_size=16, channels=3, width=4, norm="none", num_classes=5)),
    "mlp": (lambda: ganzoo.create_generator("mlp", latent_dim=4, out_shape=(2,), hidden=(16, 16), num_classes=5),
            lambda: ganzoo.create_critic("mlp", in_shape=(2,), hidden=(16, 16), num_classes=5)),
}


@pytest.mark.parametrize("family", list(CONDITIONAL))
def test_conditional_shapes_labels_matter_and_every_parameter_gets_a_gradient(family):
    G, D = (build() for build in CONDITIONAL[family])
    z = torch.randn(6, G.latent_dim)
    y = torch.tensor([0, 1, 2, 3, 4, 0])
    x = G(z, y)
    assert x.shape == (6, *G.out_shape)
    assert not torch.allclose(G(z, y), G(z, (y + 1) % 5))
    scores = D(x, y)
    assert scores.shape == (6,)
    assert not torch.allclose(D(x, y), D(x, (y + 1) % 5))
    (scores.sum() + D(x.detach(), y).sum()).backward()
    for net in (G, D):
        for name, p in net.named_parameters():
            assert p.grad is not None and p.grad.abs().sum() > 0, name


@pytest.mark.parametrize("family", list(CONDITIONAL))
def test_projection_term_is_exactly_the_inner_product(family):
    """D(x, y) - D_unconditional(x) == <E(y), phi(x)>, and a zero projection gives the
    unconditional critic with the same weights."""
    D = CONDITIONAL[family][1]()
    kwargs = dict(ganzoo.get_config(D)["kwargs"])
    kwargs.pop("num_classes")
    plain = ganzoo.create_critic(family, **kwargs)
    plain.load_state_dict({k: v for k, v in D.state_dict().items() if k.startswith("net.")})
    x = torch.randn(4, *D.in_shape) if family == "dcgan" else torch.randn(4, 2)
    y = torch.tensor([4, 0, 2, 2])
    phi = D.net[:-1](x.reshape(4, -1) if family == "mlp" else x).flatten(1)
    expected = plain(x) + (phi * D.projection.weight[y]).sum(1)
    assert_close(D(x, y), expected)
    with torch.no_grad():
        D.projection.weight.zero_()
    assert torch.equal(D(x, y), plain(x))


@pytest.mark.parametrize("family", list(CONDITIONAL))
def test_conditional_config_round_trip(family):
    for build in CONDITIONAL[family]:
        net = build()
        config = ganzoo.get_config(net)
        assert config["kwargs"]["num_classes"] == 5
        rebuilt = ganzoo.from_config(config)
        rebuilt.load_state_dict(net.state_dict())
        assert rebuilt.num_classes == 5
        net.eval(), rebuilt.eval()
        inp = torch.randn(3, net.latent_dim) if hasattr(net, "latent_dim") else torch.randn(3, *net.in_shape)
        assert torch.equal(net(inp, torch.tensor([1, 2, 3])), rebuilt(inp, torch.tensor([1, 2, 3])))


@pytest.mark.parametrize("family", list(CONDITIONAL))
@pytest.mark.parametrize("labels, match", [
    (None, r"class-conditional \(num_classes=5\).*\(z, labels\)|class-conditional \(num_classes=5\).*\(x, labels\)"),
    (torch.tensor([0.0, 1.0, 2.0]), r"dtype torch.float32.*labels.long\(\)"),
    (torch.tensor([0, 5, 1]), r"label 5 is outside \[0, 5\)"),
    (torch.tensor([0, -1, 1]), r"label -1 is outside \[0, 5\)"),
    (torch.tensor([[0], [1], [2]]), r"shape \(3, 1\).*\(3,\).*reshape"),
    (torch.tensor([0, 1]), r"shape \(2,\) but must be \(3,\)"),
    ([0, 1, 2], r"torch tensor.*torch.as_tensor"),
    (torch.tensor([True, False, True]), r"dtype torch.bool"),
])
def test_bad_labels_name_the_problem_and_the_fix(family, labels, match):
    G, D = (build() for build in CONDITIONAL[family])
    with pytest.raises(ganzoo.ConfigError, match=match):
        G(torch.randn(3, G.latent_dim), labels)
    with pytest.raises(ganzoo.ConfigError, match=match):
        D(torch.randn(3, *D.in_shape), labels)


@pytest.mark.parametrize("family", list(CONDITIONAL))
def test_unconditional_networks_refuse_labels(family):
    G = ganzoo.create_generator(family, latent_dim=4, **({"image_size": 16, "width": 4} if family == "dcgan" else {}))
    with pytest.raises(ganzoo.ConfigError, match="unconditional; build it with num_classes=N"):
        G(torch.randn(2, 4), torch.tensor([0, 1]))


@pytest.mark.parametrize("kwargs, match", [
    ({"num_classes": 0}, "num_classes=0"), ({"num_classes": 2.5}, "num_classes=2.5"),
    ({"embed_dim": 8}, "embed_dim=8 needs num_classes"), ({"num_classes": 3, "embed_dim": 0}, "embed_dim=0"),
])
def test_bad_num_classes_arguments(kwargs, match):
    with pytest.raises(ganzoo.ConfigError, match=match):
        ganzoo.create_generator("dcgan", latent_dim=4, image_size=16, width=4, **kwargs)


def test_spectral_norm_wraps_the_projection_embedding():
    D = ganzoo.create_regularizer("spectral_norm").wrap(CONDITIONAL["dcgan"][1]())
    assert torch.nn.utils.parametrize.is_parametrized(D.projection, "weight")
    D(torch.randn(4, 3, 16, 16), torch.tensor([0, 1, 2, 3]))  # power iteration runs
    sigma = torch.linalg.matrix_norm(D.projection.weight.detach(), ord=2)
    assert abs(sigma.item() - 1.0) < 0.35  # one power-iteration step per forward: an estimate


# ---------------------------------------------------------------- penalties with a condition
def linear_conditional_critic(w: torch.Tensor, V: torch.Tensor) -> nn.Module:
    """MLP critic with no hidden layer: D(x, y) = <w + V_y, x> + b, gradient w + V_y exactly."""
    critic = ganzoo.create_critic("mlp", in_shape=(w.numel(),), hidden=(), num_classes=V.shape[0]).double()
    with torch.no_grad():
        critic.net[0].weight.copy_(w.view(1, -1))
        critic.projection.weight.copy_(V)
    return critic


@given(d=st.integers(1, 5), classes=st.integers(1, 4), batch=st.integers(1, 8), weight=st.floats(0, 100),
       seed=st.integers(0, 2**16), one_sided=st.booleans())
def test_gradient_penalty_of_linear_conditional_critic_is_exact(d, classes, batch, weight, seed, one_sided):
    gen = torch.Generator().manual_seed(seed)
    w = torch.randn(d, generator=gen, dtype=torch.float64)
    V = torch.randn(classes, d, generator=gen, dtype=torch.float64)
    y = torch.randint(classes, (batch,), generator=gen)
    real = torch.randn(batch, d, generator=gen, dtype=torch.float64)
    fake = torch.randn(batch, d, generator=gen, dtype=torch.float64)
    critic = linear_conditional_critic(w, V)
    gp = GradientPenalty(weight=weight, one_sided=one_sided)
    penalty = gp.penalty(critic, real, fake, condition=y)
    gap = ((w + V[y]).square().sum(dim=1) + gp.eps).sqrt() - 1  # the documented sqrt(sum g^2 + eps)
    expected = weight * (gap.clamp(min=0) if one_sided else gap).square().mean()
    # the penalty is computed in float32: the norm is off by up to a few float32 ulps, and
    # (norm - 1)^2 amplifies that relative error when the norm is near 1 (a rtol fails there)
    eps32 = torch.finfo(torch.float32).eps
    delta = 4 * eps32 * ((w + V[y]).norm(dim=1) + 1)
    bound = weight * (2 * gap.abs() * delta + delta**2).mean() + 4 * eps32 * expected + torch.finfo(torch.float32).tiny
    assert (penalty.double() - expected).abs() <= bound
    assert penalty >= 0


@given(d=st.integers(1, 5), classes=st.integers(1, 4), batch=st.integers(1, 8), weight=st.floats(0, 100),
       seed=st.integers(0, 2**16))
def test_r1_of_linear_conditional_critic_is_exact(d, classes, batch, weight, seed):
    gen = torch.Generator().manual_seed(seed)
    w = torch.randn(d, generator=gen, dtype=torch.float64)
    V = torch.randn(classes, d, generator=gen, dtype=torch.float64)
    y = torch.randint(classes, (batch,), generator=gen)
    real = torch.randn(batch, d, generator=gen, dtype=torch.float64)
    penalty = R1Penalty(weight=weight).penalty(linear_conditional_critic(w, V), real, real, condition=y)
    expected = 0.5 * weight * (w + V[y]).square().sum(dim=1).mean()
    assert_close(penalty.double(), expected, rtol=1e-6, atol=1e-9)


def test_interpolate_is_scored_with_the_shared_label():
    """Each interpolate x_hat_i is differentiated at label y_i: swapping two samples together
    with their labels permutes nothing in the penalty's terms."""
    w = torch.zeros(2, dtype=torch.float64)
    V = torch.tensor([[3.0, 4.0], [0.0, 0.5]], dtype=torch.float64)  # gradient norms 5 and 0.5
    critic = linear_conditional_critic(w, V)
    real, fake = torch.randn(2, 2, dtype=torch.float64), torch.randn(2, 2, dtype=torch.float64)
    for labels, expected in ((torch.tensor([0, 0]), 16.0), (torch.tensor([1, 1]), 0.25), (torch.tensor([0, 1]), 8.125)):
        value = GradientPenalty(weight=1.0).penalty(critic, real, fake, condition=labels)
        assert_close(value.double(), torch.tensor(expected, dtype=torch.float64))


def test_unconditional_penalty_calls_are_bitwise_unchanged():
    critic = ganzoo.create_critic("dcgan", image_size=16, channels=3, width=8, norm="none")
    real, fake = torch.rand(4, 3, 16, 16) * 2 - 1, torch.rand(4, 3, 16, 16) * 2 - 1
    for reg in (GradientPenalty(), R1Penalty()):
        torch.manual_seed(9)
        a = reg.penalty(critic, real, fake, "off")
        torch.manual_seed(9)
        b = reg.penalty(critic, real, fake, "off", condition=None)
        assert torch.equal(a, b)


def test_condition_of_the_wrong_length_is_refused():
    critic = CONDITIONAL["mlp"][1]()
    with pytest.raises(ganzoo.ConfigError, match="condition=\\(3,\\) does not fit the batch of 4"):
        GradientPenalty().penalty(critic, torch.randn(4, 2), torch.randn(4, 2), condition=torch.tensor([0, 1, 2]))


@pytest.mark.parametrize("mode", ["off", "bf16", "fp16"])
@pytest.mark.parametrize("family", list(CONDITIONAL))
def test_conditional_critics_take_the_fast_input_gradient_with_the_same_values(family, mode):
    torch.manual_seed(0)
    critic = CONDITIONAL[family][1]()
    assert supports_fast_input_gradient(critic)
    amp = AmpPolicy(mode, "cpu", init_scale=2.0**8)
    shape = (6, *critic.in_shape)
    x = torch.randn(*shape, requires_grad=True)
    y = torch.tensor([0, 1, 2, 3, 4, 1])

    def penalty_and_grads(fast: bool):
        if fast:
            grad = critic_input_gradient(critic, x, amp, condition=y)
        else:
            with amp.autocast():
                scores = critic(x, y)
            grad = input_gradient(scores, x, amp)
        penalty = (grad.flatten(1).square().sum(1).add(1e-12).sqrt() - 1).square().mean()
        params = list(critic.parameters())
        grads = torch.autograd.grad(penalty, params, allow_unused=True)  # biases: no input-gradient term
        return penalty, [torch.zeros_like(p) if g is None else g for g, p in zip(grads, params)]

    ref_penalty, ref_grads = penalty_and_grads(False)
    penalty, grads = penalty_and_grads(True)
    assert critic not in _generic_critics  # the trace accepted the projection
    assert_close(penalty, ref_penalty, rtol=1e-6, atol=1e-7)
    # bf16: the two paths round in different places; on CPUs without native bf16 (an AVX2 EPYC)
    # that differs by a few bf16 ulps (2**-8 relative), on the AMX Xeon by far less
    tol = {"off": 1e-5, "bf16": 2e-2, "fp16": 1e-3}[mode]
    for g, ref in zip(grads, ref_grads):
        assert (g - ref).abs().max() <= tol * ref.abs().max() + 1e-9
    assert grads[-1].abs().sum() > 0  # the projection embedding gets a penalty gradient
    assert math.isfinite(penalty.item())
