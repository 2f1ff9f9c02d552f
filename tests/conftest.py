"""Shared test settings: small CPU budgets, deterministic seeds, hypothesis profile."""

from __future__ import annotations

import os

import pytest
import torch
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ganzoo", deadline=None, max_examples=30, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ganzoo"))


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


@pytest.fixture
def one_thread():
    """Tiny models: one intra-op thread is faster, and much faster on a busy machine.
    Modules of tiny-model tests use it with ``pytestmark = pytest.mark.usefixtures("one_thread")``."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


# Small constructor arguments for every registered component (contract tests iterate
# over the registries; a newly registered component must add its entry here).
GENERATOR_KWARGS = {
    "dcgan": {"latent_dim": 8, "image_size": 16, "channels": 3, "width": 4},
    "mlp": {"latent_dim": 4, "out_shape": (2,), "hidden": (16, 16)},
}
CRITIC_KWARGS = {
    "dcgan": {"image_size": 16, "channels": 3, "width": 4, "norm": "none"},
    "mlp": {"in_shape": (2,), "hidden": (16, 16)},
}
LOSS_KWARGS: dict[str, dict] = {"bce": {"real_label": 0.9}}
REGULARIZER_KWARGS: dict[str, dict] = {"weight_clipping": {"clip": 0.05}}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Under GANZOO_NO_SKIPS=1 (set by .ci/run) a skipped test fails: CI installs everything
    the tests need, so a skip there means something is missing."""
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("GANZOO_NO_SKIPS") == "1" and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped under GANZOO_NO_SKIPS=1 (CI): {report.longrepr}"
