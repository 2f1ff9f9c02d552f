"""FID / KID / IS / precision-recall through torch-fidelity: numerics, conversion, inputs, offline, callback."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

import ganzoo
from ganzoo.errors import ConfigError
from ganzoo.metrics import fidelity

pytest.importorskip("torch_fidelity")
from torch_fidelity import metric_fid, metric_kid  # noqa: E402

from helpers import image_pair  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_thread")


def tiny_features(channels: int = 3, size: int = 8, d: int = 6) -> nn.Module:
    torch.manual_seed(1)
    return nn.Sequential(nn.Flatten(), nn.Linear(channels * size * size, d))


def scipy_fid(a: np.ndarray, b: np.ndarray) -> float:
    mu1, mu2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False, ddof=1), np.cov(b, rowvar=False, ddof=1)
    covmean = scipy.linalg.sqrtm(s1 @ s2).real
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


# ---------------------------------------------------------------------------------------- numerics
def test_fid_equals_scipy_reference_and_torch_fidelity():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(200, 8))
    b = rng.normal(size=(150, 8)) @ rng.normal(size=(8, 8)) * 0.5 + 0.3
    ours = fidelity.fid_from_features(torch.tensor(a), torch.tensor(b))
    assert ours == pytest.approx(scipy_fid(a, b), rel=1e-9, abs=1e-9)
    ta, tb = torch.tensor(a), torch.tensor(b)
    theirs = metric_fid.fid_statistics_to_metric(metric_fid.fid_features_to_statistics(ta),
                                                 metric_fid.fid_features_to_statistics(tb), False)
    assert ours == theirs[metric_fid.KEY_METRIC_FID]


def test_fid_of_a_set_with_itself_is_zero_and_of_a_known_shift_is_its_square():
    a = torch.randn(300, 5, dtype=torch.float64)
    assert abs(fidelity.fid_from_features(a, a)) < 1e-8
    shift = torch.tensor([1.0, 2.0, 0.0, 0.0, 0.0], dtype=torch.float64)
    assert fidelity.fid_from_features(a, a + shift) == pytest.approx(5.0, abs=1e-7)


@given(st.floats(0.0, 3.0), st.floats(0.05, 2.0))
def test_fid_grows_with_a_shift(s: float, extra: float):
    a = torch.randn(100, 4, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    near = fidelity.fid_from_features(a, a + s)
    far = fidelity.fid_from_features(a, a + s + extra)
    assert far > near
    assert near == pytest.approx(4 * s * s, abs=1e-6)


def test_kid_equals_torch_fidelity_and_one_full_subset_equals_the_formula():
    rng = np.random.default_rng(1)
    a, b = torch.tensor(rng.normal(size=(120, 6))), torch.tensor(rng.normal(size=(100, 6)) + 0.2)
    ours = fidelity.kid_from_features(a, b, subsets=20, subset_size=50, seed=7)
    theirs = metric_kid.kid_features_to_metric(a, b, kid_subsets=20, kid_subset_size=50, rng_seed=7, verbose=False)
    assert (ours.mean, ours.std) == (theirs[metric_kid.KEY_METRIC_KID_MEAN], theirs[metric_kid.KEY_METRIC_KID_STD])
    # one subset holding every sample (equal sizes): the unbiased MMD^2 written out
    x, y = a[:100].numpy(), b.numpy()
    d, m = x.shape[1], len(x)
    k = lambda p, q: (p @ q.T / d + 1) ** 3  # noqa: E731
    kxx, kyy, kxy = k(x, x), k(y, y), k(x, y)
    mmd = ((kxx.sum() - np.trace(kxx)) + (kyy.sum() - np.trace(kyy))) / (m * (m - 1)) - 2 * kxy.sum() / m**2
    one = fidelity.kid_from_features(a[:100], b, subsets=1, subset_size=100)
    assert one.mean == pytest.approx(mmd, rel=1e-10)


def test_kid_subset_shrinks_to_the_smaller_side():
    a, b = torch.randn(40, 3), torch.randn(30, 3)
    assert fidelity.kid_from_features(a, b, subsets=2).subset_size == 30


def test_inception_score_of_known_logits():
    confident = torch.eye(10).repeat(20, 1) * 50  # every class equally often, each image sure: IS = 10
    assert fidelity.inception_score_from_logits(confident, splits=1).mean == pytest.approx(10.0, rel=1e-6)  # one split: exact
    uniform = torch.zeros(100, 10)
    assert fidelity.inception_score_from_logits(uniform, splits=2).mean == pytest.approx(1.0)


def test_precision_recall_of_identical_and_disjoint_sets():
    a = torch.randn(50, 3)
    same = fidelity.precision_recall_from_features(a, a)
    assert (same.precision, same.recall) == (1.0, 1.0)
    far = fidelity.precision_recall_from_features(a, a + 100)
    assert (far.precision, far.recall) == (0.0, 0.0)


def test_feature_shape_errors_name_the_problem():
    with pytest.raises(ConfigError, match="same d"):
        fidelity.fid_from_features(torch.randn(5, 3), torch.randn(5, 4))


# ---------------------------------------------------------------------------------------- conversion
def test_to_uint8_round_trips_every_8bit_level_exactly():
    u = torch.arange(256, dtype=torch.uint8).view(1, 1, 16, 16)
    x = u.float() / 127.5 - 1.0
    out = fidelity.to_uint8(x)
    assert out.dtype == torch.uint8 and out.shape == (1, 3, 16, 16)
    for c in range(3):
        assert torch.equal(out[:, c : c + 1], u)


def test_to_uint8_known_values_and_clamping():
    x = torch.tensor([-3.0, -1.0, -0.5, 0.0, 0.5, 1.0, 7.0, -1.0 + 1 / 255]).view(1, 1, 1, 8)
    out = fidelity.to_uint8(x.expand(1, 3, 1, 8).contiguous())
    assert out[0, 0, 0].tolist() == [0, 0, 64, 128, 191, 255, 255, 1]
    rgb = torch.stack([torch.full((2, 2), -1.0), torch.zeros(2, 2), torch.ones(2, 2)])[None]
    assert fidelity.to_uint8(rgb)[0, :, 0, 0].tolist() == [0, 128, 255]


def test_to_uint8_refuses_other_shapes():
    with pytest.raises(ConfigError, match="C = 1"):
        fidelity.to_uint8(torch.zeros(2, 2, 4, 4))


# ---------------------------------------------------------------------------------------- inputs
def test_inputs_of_every_kind_give_the_same_features(tmp_path):
    net = tiny_features()
    x = torch.rand(20, 3, 8, 8) * 2 - 1
    ref = fidelity.extract_features(x, features=net)["features"]
    ds = torch.utils.data.TensorDataset(x, torch.zeros(20))
    assert torch.allclose(fidelity.extract_features(ds, features=net, batch_size=7)["features"], ref, atol=1e-6)
    loader = torch.utils.data.DataLoader(x, batch_size=6)
    assert torch.allclose(fidelity.extract_features(loader, features=net)["features"], ref, atol=1e-6)
    u8 = fidelity.to_uint8(x)
    assert torch.allclose(fidelity.extract_features(u8, features=net)["features"], ref, atol=1e-6)


def test_image_folder_input(tmp_path):
    from PIL import Image

    x = torch.rand(6, 3, 8, 8) * 2 - 1
    for i, img in enumerate(fidelity.to_uint8(x)):
        Image.fromarray(img.permute(1, 2, 0).numpy()).save(tmp_path / f"{i}.png")
    net = tiny_features()
    got = fidelity.extract_features(tmp_path, features=net, image_size=8)["features"]
    ref = fidelity.extract_features(x, features=net)["features"]
    assert got.shape == ref.shape
    assert torch.allclose(got.sum(0), ref.sum(0), atol=1e-6)  # same images, folder order may differ


def test_gray_images_reach_a_custom_extractor_with_one_channel():
    net = tiny_features(channels=1)
    x = torch.rand(10, 1, 8, 8) * 2 - 1
    assert fidelity.extract_features(x, features=net)["features"].shape == (10, 6)


def test_trainer_generator_and_ema_inputs():
    G, D = image_pair(size=8, channels=3, latent_dim=4)
    from ganzoo.ema import EMA

    ema = EMA(decay=0.9)
    trainer = ganzoo.Trainer(G, D, seed=0, device="cpu", callbacks=[ema])
    trainer.fit([torch.rand(8, 3, 8, 8) * 2 - 1] * 2, steps=2)
    net = tiny_features()
    real = torch.rand(40, 3, 8, 8) * 2 - 1
    for fake, extra in ((trainer, {}), (trainer.generator, {}), (ema, {}), (trainer, {"ema": ema})):
        value = ganzoo.metrics.fid(real, fake, n=30, features=net, **extra)
        assert np.isfinite(value) and value >= 0
    with pytest.raises(ConfigError, match="latent_dim"):
        ganzoo.metrics.fid(real, nn.Sequential(nn.Linear(4, 4)), n=10, features=net)


def test_evaluate_gives_every_number_and_matches_the_thin_functions():
    net, clf = tiny_features(), tiny_features(d=10)
    real, fake = torch.rand(60, 3, 8, 8) * 2 - 1, torch.rand(50, 3, 8, 8) * 1.5 - 0.5
    q = ganzoo.metrics.evaluate(real, fake, features=net, classifier=clf, kid_subset_size=40)
    assert q.fid == pytest.approx(ganzoo.metrics.fid(real, fake, features=net))
    assert q.kid == pytest.approx(ganzoo.metrics.kid(real, fake, features=net, subset_size=40).mean)
    assert q.precision == ganzoo.metrics.precision_recall(real, fake, features=net).precision
    assert q.inception_score == pytest.approx(ganzoo.metrics.inception_score(fake, classifier=clf).mean)
    assert np.isnan(ganzoo.metrics.evaluate(real, fake, features=net).inception_score)


def test_real_features_are_cached_on_disk_keyed_by_data_and_extractor(tmp_path):
    calls = []

    class Counting(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lin = tiny_features()

        def forward(self, x):
            calls.append(len(x))
            return self.lin(x)

    net = Counting()
    real, fake = torch.rand(30, 3, 8, 8) * 2 - 1, torch.rand(30, 3, 8, 8) * 2 - 1
    first = ganzoo.metrics.fid(real, fake, features=net, cache_dir=tmp_path)
    n_first = sum(calls)
    second = ganzoo.metrics.fid(real, fake, features=net, cache_dir=tmp_path)
    assert second == first and sum(calls) - n_first == 30  # only the fake side was extracted again
    assert len(list(tmp_path.glob("*.pt"))) == 1
    ganzoo.metrics.fid(real[:20], fake, features=net, cache_dir=tmp_path)  # other data: new entry
    with torch.no_grad():
        net.lin[1].weight.add_(1.0)
    ganzoo.metrics.fid(real, fake, features=net, cache_dir=tmp_path)  # other weights: new entry
    assert len(list(tmp_path.glob("*.pt"))) == 3


def test_bad_features_output_is_a_clear_error():
    with pytest.raises(ConfigError, match=r"\(N, d\)"):
        ganzoo.metrics.fid(torch.zeros(4, 3, 8, 8), torch.zeros(4, 3, 8, 8), features=nn.Identity(), cache=False)


# ---------------------------------------------------------------------------------------- offline
class CountingGenerator(nn.Module):
    latent_dim = 4

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0
        self.lin = nn.Linear(4, 3 * 8 * 8)

    def forward(self, z):
        self.calls += 1
        return torch.tanh(self.lin(z)).view(-1, 3, 8, 8)


def test_no_weights_no_network_is_a_config_error_before_sampling(monkeypatch):
    monkeypatch.delenv("GANZOO_OFFLINE", raising=False)
    monkeypatch.setattr(fidelity, "_network_available", lambda timeout=3.0: False)
    G = CountingGenerator()
    with pytest.raises(ConfigError) as info:
        ganzoo.metrics.fid(torch.zeros(4, 3, 8, 8), G, n=8)
    message = str(info.value)
    for part in (fidelity.INCEPTION_WEIGHTS_FILE, fidelity.INCEPTION_WEIGHTS_URL, "weights_path=",
                 "GANZOO_INCEPTION_WEIGHTS", "network is not reachable"):
        assert part in message
    assert G.calls == 0


def test_offline_environment_variable_never_probes_the_network(monkeypatch):
    monkeypatch.setattr(fidelity, "_network_available", lambda timeout=3.0: pytest.fail("probed the network"))
    with pytest.raises(ConfigError, match="GANZOO_OFFLINE is set"):
        ganzoo.metrics.inception_score(CountingGenerator(), n=8)


def test_missing_weights_file_names_it(tmp_path, monkeypatch):
    with pytest.raises(ConfigError, match="weights_path="):
        ganzoo.metrics.fid(torch.zeros(4, 3, 8, 8), torch.zeros(4, 3, 8, 8), weights_path=tmp_path / "nope.pth")
    monkeypatch.setenv("GANZOO_INCEPTION_WEIGHTS", str(tmp_path / "nope.pth"))
    with pytest.raises(ConfigError, match="GANZOO_INCEPTION_WEIGHTS"):
        ganzoo.metrics.fid(torch.zeros(4, 3, 8, 8), torch.zeros(4, 3, 8, 8))


def test_the_fid_callback_fails_before_training_without_weights():
    G, D = image_pair(size=8, channels=3, latent_dim=4)
    trainer = ganzoo.Trainer(G, D, seed=0, device="cpu")
    with pytest.raises(ConfigError, match="Inception weights"):
        trainer.fit([torch.zeros(4, 3, 8, 8)], steps=2, callbacks=[ganzoo.callbacks.FID(torch.zeros(8, 3, 8, 8))])
    assert trainer.step == 0


# ---------------------------------------------------------------------------------------- callback
def test_fid_callback_records_into_history_metrics_log_and_tensorboard(tmp_path):
    G, D = image_pair(size=8, channels=3, latent_dim=4)
    trainer = ganzoo.Trainer(G, D, seed=0, device="cpu")
    real = torch.rand(40, 3, 8, 8) * 2 - 1

    class Writer:
        def __init__(self) -> None:
            self.scalars: list[tuple[str, float, int]] = []

        def add_scalar(self, k, v, s):
            self.scalars.append((k, v, s))

        def add_image(self, *a):
            pass

    writer = Writer()
    log = ganzoo.callbacks.MetricsLog(tmp_path / "m.csv", every=2)
    fid_cb = ganzoo.callbacks.FID(real, every=2, n=20, features=tiny_features(), cache_dir=tmp_path)
    # FID after the loggers in the list: they still see its values (the extra at-end value of
    # step 5 comes after the loggers' last flush: history and values only)
    trainer.fit([torch.rand(8, 3, 8, 8) * 2 - 1] * 3, steps=5,
                callbacks=[log, ganzoo.callbacks.TensorBoard(every=2, writer=writer), fid_cb])
    steps = [s for s, _ in fid_cb.values]
    assert steps == [2, 4, 5]
    column = trainer.history.column("fid")
    assert [i + 1 for i, v in enumerate(column) if v == v] == steps
    assert [v for v in column if v == v] == [v for _, v in fid_cb.values]
    rows = log.read()
    assert [r["step"] for r in rows if r.get("fid") is not None] == [2, 4]
    assert sorted(s for k, _, s in writer.scalars if k == "fid") == [2, 4]
    # the evaluation noise is fixed and separate: training follows the same path without the callback
    G2, D2 = image_pair(size=8, channels=3, latent_dim=4)
    plain = ganzoo.Trainer(G2, D2, seed=0, device="cpu")
    plain.fit([torch.rand(8, 3, 8, 8) * 2 - 1] * 3, steps=5)
    assert trainer.history.column("generator_loss") != [] and len(plain.history) == 5


def test_history_set_value_refuses_unknown_steps_and_training_columns():
    h = ganzoo.History()
    h.append(ganzoo.StepRecord(step=1, critic_loss=0.0, generator_loss=0.0))
    h.set_value(1, "fid", 3.0)
    assert h[0].as_dict()["fid"] == 3.0 and h[0].metrics == {"fid": 3.0}
    with pytest.raises(KeyError, match="step 2"):
        h.set_value(2, "fid", 1.0)
    with pytest.raises(ValueError, match="training column"):
        h.set_value(1, "critic_loss", 1.0)
