"""The input pipeline, balancing, metrics, transfer-learning groups and plots of examples/train.py,
in process on generated data (test_examples.py runs the script end to end)."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

sys.path.insert(0, str(Path(__file__).parents[2] / "examples"))
import balance
import data as example_data
import pipeline
import plots

train_script = importlib.import_module("train")
CPU = torch.device("cpu")


def noise_tree(root: Path, counts: dict[str, int], size: tuple[int, int] = (12, 10)) -> None:
    """train/ and test/ class folders of random-noise PNGs: every window of an image is unique."""
    rng = np.random.default_rng(0)
    for split in ("train", "test"):
        for name, n in counts.items():
            (root / split / name).mkdir(parents=True)
            for i in range(n if split == "train" else 2):
                pixels = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
                Image.fromarray(pixels).save(root / split / name / f"{i}.png")


@pytest.fixture(scope="module")
def noise(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("noise")
    noise_tree(root, {"a": 9, "b": 7, "c": 8})
    return root


def load(root: Path, memory: bool, **kw: object) -> example_data.DataBundle:
    return example_data.load_data("imagefolder", root, image_size=16, in_memory=memory, **kw)  # type: ignore[arg-type]


def memory_batches(bundle, sampler, normalize=True, **kw):  # type: ignore[no-untyped-def]
    mean, std = (bundle.mean, bundle.std) if normalize else (None, None)
    return pipeline.MemoryBatches(bundle.train, 5, sampler, CPU, mean, std, **kw)


def test_memory_and_loader_paths_give_the_same_batches(noise: Path) -> None:
    memory, files = load(noise, True, augment=False), load(noise, False, augment=False)
    assert memory.in_memory
    assert not files.in_memory
    assert memory.decode_seconds > 0
    assert (memory.mean, memory.std) == (files.mean, files.std)
    n = len(memory.train)
    s1, s2 = pipeline.EpochSampler(n, 3, True), pipeline.EpochSampler(n, 3, True)
    fast = memory_batches(memory, s1)
    slow = pipeline.loader_batches(files.train, 5, s2, CPU, 0, files.mean, files.std)
    for epoch in (0, 1):
        s1.set_epoch(epoch)
        s2.set_epoch(epoch)
        # Independent truth: the un-augmented items, in a permutation seeded as documented.
        order = torch.randperm(n, generator=torch.Generator().manual_seed(3 * 1000 + epoch))
        expected = [files.train[i] for i in order.tolist()]
        got = list(zip(fast, slow, strict=True))
        assert len(got) == -(-n // 5)
        seen = 0
        for (x1, y1), (x2, y2) in got:
            assert torch.equal(x1, x2)
            assert torch.equal(y1, y2)
            for x, y in zip(x1, y1.tolist(), strict=True):
                assert torch.equal(x, expected[seen][0])
                assert y == expected[seen][1]
                seen += 1
        assert seen == n


def find_window(padded: torch.Tensor, out: torch.Tensor, pad: int) -> list[tuple[int, int, bool]]:
    """Every (top, left, flipped) where ``out`` sits in ``padded``."""
    size = out.shape[-1]
    return [
        (top, left, flipped)
        for top in range(2 * pad + 1)
        for left in range(2 * pad + 1)
        for flipped in (False, True)
        if torch.equal(padded[:, top : top + size, left : left + size].flip(-1)
                       if flipped else padded[:, top : top + size, left : left + size], out)
    ]  # fmt: skip


@pytest.mark.parametrize("path", ["memory", "loader"])
def test_crops_and_flips_are_per_sample_inside_the_padded_image(noise: Path, path: str) -> None:
    bundle = load(noise, path == "memory", normalize=False)
    assert (bundle.pad, bundle.flip) == (2, True)  # 16 px: size/8
    sampler = pipeline.EpochSampler(len(bundle.train), 0, True)
    if path == "memory":
        batches = memory_batches(bundle, sampler, False, pad=bundle.pad, flip=True)
    else:
        batches = pipeline.loader_batches(bundle.train, 5, sampler, CPU, 0, None, None, 2, True)
    found: dict[int, list[tuple[int, int, bool]]] = {}
    for epoch in (0, 1):
        sampler.set_epoch(epoch)
        order = sampler.order().tolist()
        outputs = torch.cat([x for x, _ in batches])
        assert outputs.shape == (len(order), 3, 16, 16)
        per_batch = []
        for k, (i, out) in enumerate(zip(order, outputs, strict=True)):
            clean = bundle.train.source.image(bundle.train.indices[i])  # un-augmented
            hits = find_window(F.pad(clean, (2, 2, 2, 2)), out, 2)
            assert len(hits) == 1, (epoch, i, hits)  # inside the padded image, and unique
            found.setdefault(i, []).append(hits[0])
            per_batch.append((k // 5, hits[0]))
        for b in range(len(order) // 5):  # per sample: a batch mixes crops and flips
            assert len({h for bb, h in per_batch if bb == b}) > 1
    every = [h for hits in found.values() for h in hits]
    assert {h[2] for h in every} == {False, True}
    assert len({h[:2] for h in every}) > 10  # of the 25 offsets
    assert sum(a != b for a, b in found.values()) > len(found) // 2  # new draws each epoch


def test_batches_depend_only_on_seed_and_epoch(noise: Path) -> None:
    """What exact resumption needs: epoch 1 is the same whether or not epoch 0 ran before it,
    and (DataLoader path) whatever the number of worker processes."""
    memory, files = load(noise, True), load(noise, False)
    for bundle, make in (
        (memory, lambda s, w: memory_batches(memory, s, pad=memory.pad, flip=True)),
        (
            files,
            lambda s, w: pipeline.loader_batches(
                files.train, 5, s, CPU, w, files.mean, files.std, files.pad, files.flip
            ),
        ),
    ):
        a, b = (pipeline.EpochSampler(len(bundle.train), 0, True) for _ in range(2))
        first, second = make(a, 0), make(b, 2 if bundle is files else 0)
        list(first)  # epoch 0 runs first in this one only
        a.set_epoch(1)
        b.set_epoch(1)
        for (x1, y1), (x2, y2) in zip(first, second, strict=True):
            assert torch.equal(x1, x2)
            assert torch.equal(y1, y2)


def test_epoch_sampler_weights_and_ranks() -> None:
    targets = [0] * 90 + [1] * 10
    weights = balance.sample_weights(targets, 2)
    drawn = []
    for epoch in range(20):
        sampler = pipeline.EpochSampler(100, 0, True, weights)
        sampler.set_epoch(epoch)
        drawn += [targets[i] for i in sampler]
    share = sum(drawn) / len(drawn)  # 2,000 draws: the standard deviation is 0.011
    assert 0.45 < share < 0.55
    plain = pipeline.EpochSampler(100, 0, True)
    assert sorted(plain) == list(range(100))
    ranks = [pipeline.EpochSampler(7, 0, True, rank=r, world=3) for r in range(3)]
    parts = [r.order().tolist() for r in ranks]
    assert [len(p) for p in parts] == [3, 3, 3]
    full = pipeline.EpochSampler(7, 0, True).order().tolist()
    assert [x for trio in zip(*parts, strict=True) for x in trio] == full + full[:2]


def test_loss_weights_are_sklearn_balanced() -> None:
    from sklearn.utils.class_weight import compute_class_weight

    targets = [0] * 30 + [1] * 5 + [2] * 15
    weights = balance.loss_weights(targets, 3)
    expected = compute_class_weight("balanced", classes=np.arange(3), y=np.array(targets))
    np.testing.assert_allclose(weights.numpy(), expected, rtol=1e-6)
    assert balance.loss_weights([0, 0, 2], 3)[1] == 0  # an absent class
    # Each class then contributes the same total weight to the loss.
    per_class = torch.bincount(torch.tensor(targets), weights=weights[torch.tensor(targets)])
    torch.testing.assert_close(per_class, torch.full((3,), 50 / 3, dtype=per_class.dtype))


def test_collapse_message() -> None:
    collapsed = torch.tensor([[73, 0], [27, 0]])
    message = balance.collapse_message(collapsed, ["cat", "dog"])
    assert message is not None
    assert "predicts class 'cat' for 100% of images" in message
    assert "accuracy (73.0%) equals the majority-class rate" in message
    assert "--balance" not in message  # what to try is imbalance_advice's
    onto_minority = balance.collapse_message(torch.tensor([[1, 72], [0, 27]]), ["cat", "dog"])
    assert onto_minority is not None
    assert "predicts class 'dog' for 99% of images" in onto_minority
    assert "majority-class rate 73.0% (class 'cat')" in onto_minority
    # A good model on 97:3 data predicts the majority 96% of the time: not a collapse.
    assert balance.collapse_message(torch.tensor([[960, 10], [2, 28]]), ["a", "b"]) is None
    assert (
        balance.collapse_message(torch.eye(10, dtype=torch.int64) * 9, list("abcdefghij")) is None
    )


def test_imbalance_advice_only_where_balancing_applies() -> None:
    assert balance.imbalance_advice([0] * 30 + [1] * 20, 2) == (
        "Imbalanced training classes (30 to 20 images): try --balance sampler or --balance loss"
    )  # 30 >= 1.5 x 20
    assert balance.imbalance_advice([0] * 29 + [1] * 20, 2) is None  # 29 < 1.5 x 20
    assert balance.imbalance_advice([0] * 30 + [1] * 20, 2, "sampler") is None
    assert balance.imbalance_advice([0] * 30 + [1] * 20, 2, "loss") is None
    # The digits' training split: 125 to 131 images a class.
    counts = [128, 131, 128, 131, 130, 131, 131, 129, 125, 130]
    assert balance.imbalance_advice([c for c, n in enumerate(counts) for _ in range(n)], 10) is None


def test_metrics_equal_sklearn() -> None:
    from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score

    torch.manual_seed(0)
    m = train_script.Metrics(5, CPU)
    logits, targets = [], []
    for _ in range(train_script.Metrics.FLUSH + 7):  # one flush during, one at the end
        x = torch.randn(8, 5)
        y = torch.randint(0, 5, (8,))
        x[:4, 1] += 2  # predictions lean to class 1
        m.update(x, y, torch.tensor(1.5))
        logits.append(x)
        targets.append(y)
    scalars, per_class, confusion = m.compute()
    pred, true = torch.cat(logits).argmax(1).numpy(), torch.cat(targets).numpy()
    assert scalars["top1"] == pytest.approx(accuracy_score(true, pred), abs=1e-6)
    assert scalars["balanced_acc"] == pytest.approx(balanced_accuracy_score(true, pred), abs=1e-6)
    assert scalars["macro_f1"] == pytest.approx(f1_score(true, pred, average="macro"), abs=1e-6)
    assert scalars["loss"] == pytest.approx(1.5)
    assert confusion.sum() == len(true)
    assert confusion[2, 1] == np.sum((true == 2) & (pred == 1))
    assert per_class[3] == pytest.approx(np.mean(pred[true == 3] == 3), abs=1e-6)


def test_backbone_lr_mult_and_freezing() -> None:
    import scalenet

    def model() -> torch.nn.Module:
        torch.manual_seed(0)
        return scalenet.resnet(depths=(1, 1, 1), width=8, stem="cifar", num_classes=3)

    args = train_script.parse_args(["--lr", "0.5", "--backbone-lr-mult", "0.1"])
    net = model()
    groups = train_script.param_groups(net, args)
    assert [(g["name"], g["lr"]) for g in groups] == [("backbone", 0.05), ("head", 0.5)]
    assert {id(p) for p in groups[1]["params"]} == {id(p) for p in net.fc.parameters()}
    opt = torch.optim.SGD(groups, 0.5)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    F.cross_entropy(net(torch.randn(4, 3, 16, 16)), torch.tensor([0, 1, 2, 0])).backward()
    grads = {n: p.grad.clone() for n, p in net.named_parameters()}  # type: ignore[union-attr]
    opt.step()
    after = net.state_dict()
    for name, grad in grads.items():
        lr = 0.5 if name.startswith("fc.") else 0.05
        torch.testing.assert_close(after[name], before[name] - lr * grad)

    frozen = model()
    args = train_script.parse_args(["--freeze-backbone"])
    groups = train_script.param_groups(frozen, args)
    assert len(groups) == 1
    assert [n for n, p in frozen.named_parameters() if p.requires_grad] == ["fc.weight", "fc.bias"]
    train_script.set_train_mode(frozen, True, True)
    assert frozen.fc.training
    assert not frozen.bn1.training  # the backbone's BatchNorm keeps its statistics


def test_plots_people_read() -> None:
    history = [
        {"epoch": e, "train_loss": 2.0 / e, "val_loss": 2.2 / e, "train_top1": t,
         "val_top1": v, "val_balanced_acc": v - 0.01}
        for e, t, v in ((1, 0.3, 0.35), (2, 0.5, 0.62), (3, 0.6, 0.58))
    ]  # fmt: skip
    fig = plots.curves_figure(history, [i / 4 for i in range(12)], [0.1] * 6 + [0.01] * 6)
    loss_ax, acc_ax, lr_ax = fig.axes
    assert loss_ax.get_yscale() == "log"
    assert all(float(t).is_integer() for t in loss_ax.get_xticks())
    train_line = acc_ax.get_lines()[0]
    assert list(train_line.get_ydata()) == pytest.approx([30, 50, 60])  # in %
    assert acc_ax.yaxis.get_major_formatter()(50, 0) == "50%"
    best = [ln for ln in loss_ax.get_lines() if "best epoch" in str(ln.get_label())]
    assert best[0].get_xdata()[0] == 2  # val top-1 peaks at epoch 2
    assert list(lr_ax.get_lines()[0].get_ydata()) == [0.1] * 6 + [0.01] * 6
    confusion = torch.tensor([[5, 1], [2, 2]])
    fig = plots.confusion_figure(confusion, ["a", "b"])
    counts = [t.get_text() for t in fig.axes[0].texts]
    assert counts == ["5", "1", "2", "2"]
    assert [t.get_text() for t in fig.axes[1].texts] == ["83", "17", "50", "50"]  # % of row
    fig = plots.per_class_figure([0.5, 0.25], ["a", "b"], [6, 4])
    assert [b.get_height() for b in fig.axes[0].patches] == [50, 25]
    # Each class's test images under its name.
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["a\n(n=6)", "b\n(n=4)"]


def labelled_ticks(ax, axis: str = "y") -> list[str]:  # type: ignore[no-untyped-def]
    """The tick labels that are drawn with text, inside the axis' limits."""
    ax.figure.canvas.draw()
    which = ax.yaxis if axis == "y" else ax.xaxis
    lo, hi = sorted(ax.get_ylim() if axis == "y" else ax.get_xlim())
    return [
        t.label1.get_text()
        for t in which.get_major_ticks()
        if t.label1.get_text() and lo <= t.get_loc() <= hi
    ]


def test_plots_no_line_on_the_frame_no_lone_log_tick_no_legend_over_data() -> None:
    """What a reader saw: a flat 100% line on the frame, '9x10^-2' as the only loss tick,
    legends over the curves."""
    history = [
        {"epoch": e, "train_loss": loss, "val_loss": loss + 0.004, "train_top1": 1.0,
         "val_top1": 1.0, "val_balanced_acc": 1.0}
        for e, loss in ((1, 0.095), (2, 0.091), (3, 0.089))
    ]  # fmt: skip
    fig = plots.curves_figure(history, [0, 1, 2], [0.1, 0.1, 0.1])
    loss_ax, acc_ax, lr_ax = fig.axes
    low, high = acc_ax.get_ylim()
    assert low < 100 < high  # the flat 100% line is inside, not on the frame
    low, high = lr_ax.get_ylim()
    assert low < 0.1 < high
    low, high = loss_ax.get_ylim()
    assert low < 0.089
    assert high > 0.099
    ticks = labelled_ticks(loss_ax)
    assert len(ticks) >= 2, ticks
    assert all("10^" not in t and "times" not in t for t in ticks), ticks
    assert [float(t) for t in ticks] == sorted(float(t) for t in ticks)
    assert "101%" not in labelled_ticks(acc_ax)  # no accuracy above 100%
    renderer = fig.canvas.get_renderer()
    for ax in fig.axes:
        legend = ax.get_legend().get_window_extent(renderer)
        frame = ax.get_window_extent(renderer)
        assert legend.y1 <= frame.y0, ax.get_title()  # below the plotting area
        assert len(ax.get_legend().get_texts()) >= 2


@pytest.mark.parametrize(
    ("low", "high", "expected"),
    [
        (0.085, 0.105, ["0.09", "0.1"]),  # 1..9 x 10^k: two in range
        (0.02, 3.0, ["0.02", "0.05", "0.1", "0.2", "0.5", "1", "2"]),  # 1-2-5
        (0.001, 10.0, ["0.001", "0.01", "0.1", "1", "10"]),  # decades
        (0.091, 0.098, ["0.092", "0.094", "0.096", "0.098"]),  # inside one step: round numbers
    ],
)
def test_log_ticks(low: float, high: float, expected: list[str]) -> None:
    assert [plots.plain_number(t) for t in plots.log_ticks(low, high)] == expected


def test_scaling_plot_has_plain_mmac_ticks_and_room_for_every_point() -> None:
    results = [
        {"variant": "base", "macs": 40.6e6, "top1": 0.9, "top1_min": 0.88, "top1_max": 0.93},
        {"variant": "depth x2", "macs": 83.0e6, "top1": 0.5, "top1_min": 0.2, "top1_max": 0.6},
        {"variant": "width x1.5", "macs": 90.9e6, "top1": 0.95},
    ]
    fig = plots.scaling_figure(results)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    ticks = labelled_ticks(ax, "x")
    assert len(ticks) >= 3
    assert all(t.replace(".", "").isdigit() for t in ticks), ticks  # 40, 50... not 4x10^1
    low, high = ax.get_ylim()
    assert low < 20
    assert high > 95  # every point and bar inside
    bars = [c for c in ax.containers if c.has_yerr]
    assert len(bars) == 3
