"""Make the figures of the user guide's Concepts pages, with ganzoo, on the CPU.

    flock /tmp/ganzoo-heavy.lock python docs/scripts/make_figures.py          # all, about 5 min on 2 cores
    python docs/scripts/make_figures.py --only amp_penalty_scale               # one figure

Writes PNGs into ``docs/guide/images/concepts/`` and the numbers quoted by the pages into
``figures.json`` beside them. Every run is seeded and single-threaded, so the same machine
gives the same pictures. Figures:

* ``js_vs_wasserstein``: Jensen-Shannon divergence and Wasserstein-1 distance between two
  point masses and between two Gaussians, as the distance between them grows (closed form
  and quadrature; Arjovsky et al. 2017, Example 1).
* ``discriminator_vs_critic``: a BCE discriminator and a WGAN-GP critic trained to separate
  two 1-D Gaussians, and the gradient each gives the generator (Arjovsky et al. 2017, Fig. 2).
* ``mode_collapse_ring``, ``mode_collapse_grid`` and ``training_curves``: the DCGAN recipe
  (non-saturating BCE) and the WGAN-GP recipe on the 8-mode ring and the 25-mode grid, same
  MLPs, same generator steps: samples, modes captured, % high quality, reverse KL, and the
  losses each logs.
* ``lipschitz_critics`` and ``gradient_norms``: critics trained with weight clipping, a
  gradient penalty or spectral norm on a fixed pair of distributions (Gulrajani et al. 2017,
  Fig. 1): value surfaces, weight histograms, gradient norms.
* ``amp_penalty_scale``: the fp16 gradient penalty against the fp32 one for each initial
  loss scale (PyTorch's AMP recipe for gradient penalties).
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path
from typing import Any, Callable

import torch

import ganzoo
from ganzoo.data import gaussians8, grid, ring
from ganzoo.metrics import mode_coverage

try:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError as exc:  # pragma: no cover - the docs extra and the examples extra bring it
    raise SystemExit("make_figures.py needs matplotlib: pip install matplotlib") from exc

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "docs" / "guide" / "images" / "concepts"
REAL, FAKE, ACCENT, MUTED = "#1f77b4", "#d62728", "#2ca02c", "#7f7f7f"
plt.rcParams.update({"figure.dpi": 110, "axes.grid": True, "grid.alpha": 0.3, "font.size": 9})


def _save(fig: Any, name: str) -> Path:
    path = OUT / f"{name}.png"
    fig.savefig(path, bbox_inches="tight")
    plt.close(fig)
    return path


# ----------------------------------------------------------------------------- 1
def js_vs_wasserstein(numbers: dict[str, Any]) -> None:
    """JS and W1 between P0 = N(0, s^2) and P_theta = N(theta, s^2), and between point masses."""
    theta = torch.linspace(-3, 3, 601, dtype=torch.float64)
    sigma = 0.25
    x = torch.linspace(-8, 8, 40001, dtype=torch.float64)
    dx = float(x[1] - x[0])

    def normal(mu: torch.Tensor) -> torch.Tensor:
        return torch.exp(-0.5 * ((x - mu) / sigma) ** 2) / (sigma * math.sqrt(2 * math.pi))

    def log_normal(mu: torch.Tensor) -> torch.Tensor:
        return -0.5 * ((x - mu) / sigma) ** 2 - math.log(sigma * math.sqrt(2 * math.pi))

    # In log space, with log 2 taken out analytically, so nothing cancels:
    #   JS = log 2 - 1/2 E_p0[softplus(l_t - l_0)] - 1/2 E_pt[softplus(l_0 - l_t)]
    #   dJS/dtheta = -1/2 int dp_t/dtheta softplus(l_0 - l_t) dx,  dp_t/dtheta = p_t (x - theta) / sigma^2
    softplus = torch.nn.functional.softplus
    l0 = log_normal(torch.tensor(0.0, dtype=torch.float64))
    js_list, slope_list = [], []
    for t in theta:
        lt = log_normal(t)
        p0, pt = l0.exp(), lt.exp()
        js_list.append(math.log(2) - 0.5 * float((p0 * softplus(lt - l0)).sum() * dx)
                       - 0.5 * float((pt * softplus(l0 - lt)).sum() * dx))
        slope_list.append(-0.5 * float((pt * (x - t) / sigma**2 * softplus(l0 - lt)).sum() * dx))
    js_gauss_t = torch.tensor(js_list, dtype=torch.float64)
    slope = torch.tensor(slope_list, dtype=torch.float64).abs()
    w1 = theta.abs()
    js_point = torch.where(theta == 0, 0.0, math.log(2)).to(torch.float64)

    fig, axes = plt.subplots(1, 3, figsize=(11, 3.1))
    ax = axes[0]
    ax.plot(theta, w1, color=ACCENT, label=r"$W_1 = |\theta|$")
    ax.plot(theta[theta < 0], js_point[theta < 0], color=FAKE, label=r"$JS$")
    ax.plot(theta[theta > 0], js_point[theta > 0], color=FAKE)
    ax.plot([0], [0], "o", color=FAKE, markersize=4)
    ax.set_title(r"point masses at 0 and $\theta$")
    ax.set_xlabel(r"$\theta$")
    ax.legend()
    ax = axes[1]
    ax.plot(theta, w1, color=ACCENT, label=r"$W_1 = |\theta|$")
    ax.plot(theta, js_gauss_t, color=FAKE, label=r"$JS$")
    ax.axhline(math.log(2), color=MUTED, linestyle="--", linewidth=0.8, label=r"$\log 2$")
    ax.set_title(rf"$N(0, {sigma}^2)$ and $N(\theta, {sigma}^2)$")
    ax.set_xlabel(r"$\theta$")
    ax.legend()
    ax = axes[2]
    pos = theta > 0.01
    ax.semilogy(theta[pos], torch.ones_like(theta[pos]), color=ACCENT, label=r"$|dW_1/d\theta|$")
    ax.semilogy(theta[pos], slope[pos].clamp(min=1e-30), color=FAKE, label=r"$|dJS/d\theta|$")
    ax.set_ylim(1e-12, 10)
    ax.set_title("the gradient a generator would follow")
    ax.set_xlabel(r"$\theta$")
    ax.legend()
    fig.tight_layout()
    _save(fig, "js_vs_wasserstein")
    at = {f"{t:g}": float(slope[(theta - t).abs().argmin()]) for t in (0.5, 1.0, 2.0)}
    numbers["js_vs_wasserstein"] = {"sigma": sigma, "js_slope_at_theta": at,
                                    "js_at_theta_1": float(js_gauss_t[(theta - 1).abs().argmin()])}


# ----------------------------------------------------------------------------- 2
def discriminator_vs_critic(numbers: dict[str, Any]) -> None:
    """Train a BCE discriminator and a WGAN-GP critic on two 1-D Gaussians (no generator step)."""
    torch.manual_seed(0)
    real_mu, fake_mu, std, steps = 2.0, -2.0, 0.3, 1500
    models = {}
    for kind in ("bce", "wasserstein"):
        net = ganzoo.create_critic("mlp", in_shape=(1,), hidden=(64, 64, 64))
        loss = ganzoo.create_loss(kind)
        penalty = ganzoo.create_regularizer("gradient_penalty", weight=10.0) if kind == "wasserstein" else None
        opt = torch.optim.Adam(net.parameters(), lr=1e-3, betas=(0.5, 0.9))
        for _ in range(steps):
            real = real_mu + std * torch.randn(256, 1)
            fake = fake_mu + std * torch.randn(256, 1)
            total = loss.critic_loss(net(real), net(fake))
            if penalty is not None:
                total = total + penalty.penalty(net, real, fake)
            opt.zero_grad()
            total.backward()
            opt.step()
        models[kind] = net.eval()

    x = torch.linspace(-4, 4, 401).unsqueeze(1).requires_grad_(True)
    d_logit = models["bce"](x)
    critic = models["wasserstein"](x)
    grads = {}
    for label, value in {
        "minimax  log(1 - D)": -torch.nn.functional.softplus(d_logit),
        "non-saturating  -log D": torch.nn.functional.softplus(-d_logit),
        "Wasserstein  -C": -critic,
    }.items():
        (g,) = torch.autograd.grad(value.sum(), x, retain_graph=True)
        grads[label] = g.abs().squeeze(1).detach()
    xs = x.detach().squeeze(1)

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.3))
    ax = axes[0]
    for mu, color, name in ((real_mu, REAL, "real"), (fake_mu, FAKE, "generated")):
        density = torch.exp(-0.5 * ((xs - mu) / std) ** 2)
        ax.fill_between(xs, 0, density, color=color, alpha=0.15, label=f"{name} (density, scaled)")
    ax.plot(xs, torch.sigmoid(d_logit).detach(), color="black", label=r"discriminator $\sigma(D(x))$")
    ax2 = ax.twinx()
    ax2.plot(xs, critic.detach(), color=ACCENT, label="WGAN-GP critic $C(x)$")
    ax2.set_ylabel("critic value", color=ACCENT)
    ax2.grid(False)
    ax.set_xlabel("x")
    ax.set_title("trained discriminator vs trained critic")
    lines = ax.get_legend_handles_labels()
    lines2 = ax2.get_legend_handles_labels()
    ax.legend(lines[0] + lines2[0], lines[1] + lines2[1], loc="center left", fontsize=7)
    ax = axes[1]
    for (label, g), color in zip(grads.items(), ("black", MUTED, ACCENT)):
        ax.semilogy(xs, g.clamp(min=1e-12), color=color, label=label)
    ax.axvspan(fake_mu - 2 * std, fake_mu + 2 * std, color=FAKE, alpha=0.12, label="where the fakes are")
    ax.set_xlabel("x")
    ax.set_title("|gradient of the generator loss| at x")
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    _save(fig, "discriminator_vs_critic")
    at_fake = (xs - fake_mu).abs().argmin()
    numbers["discriminator_vs_critic"] = {
        "grad_at_fake_mean": {k: float(v[at_fake]) for k, v in grads.items()},
        "discriminator_prob_at_fake_mean": float(torch.sigmoid(d_logit[at_fake].detach())),
    }


# ----------------------------------------------------------------------------- 3
def _gan_vs_wgan(mix: Any, steps: int, every: int, snapshots: tuple[int, ...]) -> dict[str, dict[str, Any]]:
    """Train the DCGAN recipe (BCE) and the WGAN-GP recipe with the same MLPs and generator steps."""
    runs: dict[str, dict[str, Any]] = {}
    for name in ("dcgan", "wgan_gp"):
        torch.manual_seed(0)
        G = ganzoo.create_generator("mlp", latent_dim=2, out_shape=(2,), hidden=(128, 128, 128))
        D = ganzoo.create_critic("mlp", in_shape=(2,), hidden=(128, 128, 128))
        if name == "dcgan":
            trainer = ganzoo.recipes.dcgan(generator=G, critic=D, seed=0, device="cpu")
        else:  # the WGAN-GP paper's toy settings
            trainer = ganzoo.recipes.wgan_gp(generator=G, critic=D, gp_weight=0.1, betas=(0.5, 0.9),
                                             seed=0, device="cpu")
        z = torch.randn(2500, 2, generator=torch.Generator().manual_seed(1))
        data = mix.sampler(256, seed=0)
        curve, shots = [], {}
        start = time.process_time()
        while trainer.step < steps:
            trainer.fit(data, steps=every)
            samples = trainer.sample(2500, z=z)
            result = mode_coverage(samples, mix.centres, mix.std)
            curve.append((trainer.step, result.modes, result.hq_pct, result.reverse_kl))
            if trainer.step in snapshots:
                shots[trainer.step] = (samples, result)
        runs[name] = {"curve": curve, "shots": shots, "history": trainer.history,
                      "cpu_s": time.process_time() - start}
        print(f"  {mix.name}, {name}: {steps} generator steps, {runs[name]['cpu_s']:.0f} s CPU, final "
              f"{curve[-1][1]}/{mix.num_modes} modes, {curve[-1][2]:.1f} % HQ, reverse KL {curve[-1][3]:.3f}",
              flush=True)
    return runs


def _snapshot_figure(mix: Any, runs: dict[str, dict[str, Any]], snapshots: tuple[int, ...], lim: float,
                     name: str) -> None:
    titles = {"dcgan": "standard GAN (DCGAN recipe: BCE, 1 D step)", "wgan_gp": "WGAN-GP (5 critic steps, lambda 0.1)"}
    fig, axes = plt.subplots(2, len(snapshots), figsize=(3.1 * len(snapshots), 6.4), sharex=True, sharey=True)
    for row, run in enumerate(("dcgan", "wgan_gp")):
        for col, step in enumerate(snapshots):
            samples, result = runs[run]["shots"][step]
            ax = axes[row, col]
            ax.scatter(samples[:, 0], samples[:, 1], s=1.5, alpha=0.3, color=REAL)
            ax.scatter(mix.centres[:, 0], mix.centres[:, 1], s=25, marker="x", color=FAKE)
            ax.set_xlim(-lim, lim)
            ax.set_ylim(-lim, lim)
            ax.set_aspect("equal")
            ax.set_title(f"step {step}: {result.modes}/{mix.num_modes} modes, {result.hq_pct:.0f} % HQ, "
                         f"KL {result.reverse_kl:.2f}", fontsize=8)
        axes[row, 0].set_ylabel(titles[run], fontsize=8)
    fig.tight_layout()
    _save(fig, name)


def _curves_figure(mix: Any, runs: dict[str, dict[str, Any]], name: str) -> None:
    fig, grid_axes = plt.subplots(2, 2, figsize=(10, 6.4))
    axes = grid_axes.flatten()
    for run, color in (("dcgan", FAKE), ("wgan_gp", ACCENT)):
        steps_, modes, hq, kl = zip(*runs[run]["curve"])
        axes[0].plot(steps_, modes, "o-", color=color, markersize=3, label=run)
        axes[1].plot(steps_, kl, "o-", color=color, markersize=3, label=run)
        axes[2].plot(steps_, hq, "o-", color=color, markersize=3, label=run)
    axes[0].set_title(f"modes captured (of {mix.num_modes})")
    axes[1].set_title("reverse KL to uniform (0 = even)")
    axes[2].set_title("% high-quality samples (within 3 std)")
    for ax in axes[:3]:
        ax.set_xlabel("generator step")
        ax.legend(fontsize=7)
    history = runs["wgan_gp"]["history"]
    gan_history = runs["dcgan"]["history"]
    ax = axes[3]
    ax.plot(history.column("step"), _smooth(history.column("wasserstein")), color=ACCENT,
            label="WGAN-GP: Wasserstein estimate")
    ax.plot(gan_history.column("step"), _smooth(gan_history.column("critic_loss")), color=FAKE,
            label="GAN: discriminator loss")
    ax.plot(gan_history.column("step"), _smooth(gan_history.column("generator_loss")), color=FAKE,
            linestyle="--", label="GAN: generator loss")
    late = [v for run in (history, gan_history) for col in ("wasserstein", "critic_loss", "generator_loss")
            for step, v in zip(run.column("step"), _smooth(run.column(col))) if step > 300 and math.isfinite(v)]
    ax.set_ylim(min(0.0, min(late)) - 0.1, max(late) * 1.5)  # the estimate's first-steps spike is cut off
    ax.set_title("the logged losses (mean of 50 steps)")
    ax.set_xlabel("generator step")
    ax.legend(fontsize=7)
    fig.suptitle(f"{mix.name}: {mix.num_modes} Gaussians of std {mix.std}", fontsize=9)
    fig.tight_layout()
    _save(fig, name)


def _curve_numbers(runs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {
        name: {"cpu_s": round(run["cpu_s"], 1),
               "curve": [{"step": s, "modes": m, "hq_pct": round(h, 1), "reverse_kl": round(k, 4)}
                         for s, m, h, k in run["curve"]]}
        for name, run in runs.items()
    }


def mode_collapse(numbers: dict[str, Any], steps: int = 3000, every: int = 250) -> None:
    """The DCGAN and WGAN-GP recipes on the ring and on the grid: samples, coverage, losses."""
    ring_snaps, grid_snaps = (250, 1000, steps), (500, 1500, steps)
    ring_runs = _gan_vs_wgan(ring(), steps, every, ring_snaps)
    _snapshot_figure(ring(), ring_runs, ring_snaps, 1.6, "mode_collapse_ring")
    grid_runs = _gan_vs_wgan(grid(), steps, every, grid_snaps)
    _snapshot_figure(grid(), grid_runs, grid_snaps, 5.5, "mode_collapse_grid")
    _curves_figure(grid(), grid_runs, "training_curves")
    numbers["mode_collapse"] = {"steps": steps, "ring": _curve_numbers(ring_runs), "grid": _curve_numbers(grid_runs)}
    numbers.pop("mode_collapse_ring", None)


def _smooth(values: list[float], window: int = 50) -> list[float]:
    out, acc = [], []
    for v in values:
        acc.append(v)
        if len(acc) > window:
            acc.pop(0)
        finite = [a for a in acc if math.isfinite(a)]
        out.append(sum(finite) / len(finite) if finite else math.nan)
    return out


# ----------------------------------------------------------------------------- 4
def lipschitz_critics(numbers: dict[str, Any], steps: int = 1500) -> None:
    """Critics trained with each Lipschitz constraint, generator held fixed (real + N(0, 1))."""
    mix = gaussians8()
    gen = torch.Generator().manual_seed(0)
    constraints: dict[str, Callable[[], list[Any]]] = {
        "weight clipping (c = 0.01)": lambda: [ganzoo.create_regularizer("weight_clipping", clip=0.01)],
        "gradient penalty (lambda = 10)": lambda: [ganzoo.create_regularizer("gradient_penalty", weight=10.0)],
        "spectral norm": lambda: [ganzoo.create_regularizer("spectral_norm")],
    }
    loss = ganzoo.create_loss("wasserstein")
    critics, weights, norms = {}, {}, {}
    for name, make in constraints.items():
        torch.manual_seed(0)
        critic = ganzoo.create_critic("mlp", in_shape=(2,), hidden=(256, 256, 256))
        regs = make()
        for reg in regs:
            critic = reg.wrap(critic)
        opt = torch.optim.Adam(critic.parameters(), lr=1e-4, betas=(0.5, 0.9))
        for _ in range(steps):
            real = mix.sample(256, gen)
            fake = mix.sample(256, gen) + torch.randn(256, 2, generator=gen)
            total = loss.critic_loss(critic(real), critic(fake))
            for reg in regs:
                value = reg.penalty(critic, real, fake)
                if value is not None:
                    total = total + value
            opt.zero_grad()
            total.backward()
            opt.step()
            for reg in regs:
                reg.after_critic_step(critic)
        critic.eval()
        critics[name] = critic
        weights[name] = torch.cat([
            m.weight.detach().flatten() for m in critic.modules() if isinstance(m, torch.nn.Linear)
        ])
        real = mix.sample(2048, gen)
        fake = mix.sample(2048, gen) + torch.randn(2048, 2, generator=gen)
        alpha = torch.rand(2048, 1, generator=gen)
        x_hat = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
        (g,) = torch.autograd.grad(critic(x_hat).sum(), x_hat)
        norms[name] = g.norm(dim=1).detach()
        with torch.no_grad():
            estimate = float(critic(real).mean() - critic(fake).mean())
        print(f"  {name}: gradient norm at interpolates median {norms[name].median():.3f}, "
              f"E[C(real)] - E[C(fake)] = {estimate:.3f}", flush=True)
        numbers.setdefault("lipschitz_critics", {})[name] = {
            "grad_norm_median": round(float(norms[name].median()), 4),
            "grad_norm_p5_p95": [round(float(norms[name].quantile(q)), 4) for q in (0.05, 0.95)],
            "w1_estimate": round(estimate, 4),
            "weights_within_1pct_of_clip": round(float((weights[name].abs() >= 0.0099).double().mean()), 4),
        }

    grid = torch.linspace(-2.2, 2.2, 161)
    xx, yy = torch.meshgrid(grid, grid, indexing="xy")
    points = torch.stack([xx.flatten(), yy.flatten()], dim=1)
    sample = mix.sample(512, gen)
    fig, axes = plt.subplots(2, 3, figsize=(11, 6.6))
    for col, (name, critic) in enumerate(critics.items()):
        with torch.no_grad():
            values = critic(points).reshape(xx.shape)
        ax = axes[0, col]
        ax.contourf(xx, yy, values, levels=20, cmap="viridis")
        ax.scatter(sample[:, 0], sample[:, 1], s=2, color="orange", alpha=0.6)
        ax.set_aspect("equal")
        ax.set_title(f"critic value: {name}", fontsize=8)
        ax = axes[1, col]
        ax.hist(weights[name].numpy(), bins=80, color=MUTED)
        ax.set_yscale("log")
        ax.set_title(f"weights: {name}", fontsize=8)
        ax.set_xlabel("weight value")
    fig.tight_layout()
    _save(fig, "lipschitz_critics")

    fig, ax = plt.subplots(figsize=(6, 3.1))
    bins = torch.logspace(-4, 0.5, 91).numpy()
    for (name, g), color in zip(norms.items(), (FAKE, ACCENT, REAL)):
        ax.hist(g.clamp(min=1e-4).numpy(), bins=bins, alpha=0.55, color=color, label=name)
    ax.set_xscale("log")
    ax.axvline(1.0, color="black", linewidth=0.8, linestyle="--")
    ax.set_xlabel(r"$\|\nabla_{\hat x} C(\hat x)\|_2$ at random interpolates")
    ax.set_title("how Lipschitz is each critic?")
    ax.legend(fontsize=7)
    fig.tight_layout()
    _save(fig, "gradient_norms")


# ----------------------------------------------------------------------------- 5
def amp_penalty_scale(numbers: dict[str, Any]) -> None:
    """fp16 gradient penalty vs fp32 for initial loss scales 2^0 ... 2^24."""
    torch.manual_seed(0)
    critic = ganzoo.create_critic("dcgan", image_size=32, channels=3, width=16, norm="none")
    real = torch.rand(16, 3, 32, 32) * 2 - 1
    fake = torch.rand(16, 3, 32, 32) * 2 - 1
    gp = ganzoo.create_regularizer("gradient_penalty", weight=10.0)
    torch.manual_seed(1)
    reference = gp.penalty(critic, real, fake, None).detach().item()
    torch.manual_seed(1)
    bf16 = gp.penalty(critic, real, fake, ganzoo.AmpPolicy("bf16", "cpu")).detach().item()
    exps = list(range(0, 25))
    errors = []
    for k in exps:
        torch.manual_seed(1)
        value = gp.penalty(critic, real, fake, ganzoo.AmpPolicy("fp16", "cpu", init_scale=2.0**k)).detach().item()
        errors.append(abs(value - reference) / reference if math.isfinite(value) else math.inf)
    finite = [(k, e) for k, e in zip(exps, errors) if math.isfinite(e)]
    overflow = [k for k, e in zip(exps, errors) if not math.isfinite(e)]
    fig, ax = plt.subplots(figsize=(6, 3.2))
    ax.semilogy([k for k, _ in finite], [max(e, 1e-9) for _, e in finite], "o-", color=ACCENT,
                label="fp16 (scaled gradient, then x 1/scale)")
    ax.set_ylim(1e-8, 1.0)
    if overflow:
        ax.scatter(overflow, [0.3] * len(overflow), marker="x", color=FAKE, label="inf/NaN: the scaler skips the step")
    ax.axhline(abs(bf16 - reference) / reference, color=MUTED, linestyle="--", label="bf16 (no scaler)")
    ax.axvline(10, color="black", linewidth=0.6, linestyle=":")
    ax.axvline(16, color=FAKE, linewidth=0.6, linestyle=":")
    ax.text(9.6, 2e-8, "ganzoo default $2^{10}$", fontsize=7, ha="right")
    ax.text(16.4, 2e-8, "PyTorch default $2^{16}$", fontsize=7)
    ax.set_xlabel(r"initial loss scale $\log_2 s$")
    ax.set_ylabel("|penalty - fp32 penalty| / fp32 penalty")
    ax.set_title("gradient penalty under fp16 autocast, DCGAN critic 32x32")
    ax.legend(fontsize=7, loc="center left")
    fig.tight_layout()
    _save(fig, "amp_penalty_scale")
    numbers["amp_penalty_scale"] = {
        "fp32_penalty": reference,
        "bf16_rel_error": abs(bf16 - reference) / reference,
        "fp16_rel_error": [{"log2_scale": k, "rel_error": e if math.isfinite(e) else "inf/nan"}
                           for k, e in zip(exps, errors)],
    }


FIGURES: dict[str, Callable[[dict[str, Any]], None]] = {
    "js_vs_wasserstein": js_vs_wasserstein,
    "discriminator_vs_critic": discriminator_vs_critic,
    "mode_collapse": mode_collapse,
    "lipschitz_critics": lipschitz_critics,
    "amp_penalty_scale": amp_penalty_scale,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=sorted(FIGURES), action="append", help="make only these figures")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads (default 1: small models, deterministic, no contention)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    OUT.mkdir(parents=True, exist_ok=True)
    numbers_path = OUT / "figures.json"
    numbers: dict[str, Any] = json.loads(numbers_path.read_text()) if numbers_path.exists() else {}
    names = args.only or list(FIGURES)
    for i, name in enumerate(names, 1):
        cpu, wall = time.process_time(), time.time()
        print(f"[{i}/{len(names)}] {name} ...", flush=True)
        FIGURES[name](numbers)
        print(f"[{i}/{len(names)}] {name}: {time.process_time() - cpu:.0f} s CPU, {time.time() - wall:.0f} s wall",
              flush=True)
    numbers["generated_with"] = {"ganzoo": ganzoo.__version__, "torch": torch.__version__, "threads": args.threads}
    numbers_path.write_text(json.dumps(numbers, indent=1, sort_keys=True) + "\n")
    print(f"wrote {len(names)} figure(s) and {numbers_path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
