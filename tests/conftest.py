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


# No test may ever download weights: ganzoo.metrics refuses (GANZOO_OFFLINE), torch's hub
# cache is an empty folder, and torch-fidelity's downloader raises if anything still reaches it.
os.environ["GANZOO_OFFLINE"] = "1"
os.environ.pop("GANZOO_INCEPTION_WEIGHTS", None)


def _no_download(*args, **kwargs):
    raise AssertionError(f"a test tried to download {args[:1]}")


torch.hub.load_state_dict_from_url = _no_download
try:
    import torch_fidelity.feature_extractor_inceptionv3 as _tf_inception

    _tf_inception.load_state_dict_from_url = _no_download
except ImportError:  # the metrics extra is optional
    pass


@pytest.fixture(autouse=True)
def _seed(tmp_path_factory, monkeypatch) -> None:
    torch.manual_seed(0)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path_factory.getbasetemp() / "torch_home"))
    monkeypatch.setenv("GANZOO_CACHE", str(tmp_path_factory.getbasetemp() / "ganzoo_cache"))


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
    "resnet": {"channels": 3, "blocks": 1, "width": 4},
}
#: Input shapes (without the batch) of models that take no noise or have no ``in_shape``.
MODEL_INPUT_SHAPES = {"resnet": (3, 16, 16), "patchgan": (3, 32, 32)}
CRITIC_KWARGS = {
    "dcgan": {"image_size": 16, "channels": 3, "width": 4, "norm": "none"},
    "mlp": {"in_shape": (2,), "hidden": (16, 16)},
    "patchgan": {"channels": 3, "width": 4},
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
