"""Every bad input at the loading boundary ends in one named scalenet error, and writes nothing.

The cases are those of an adversarial review: revisions and paths that could escape the Hub
cache, config.json files no JSON reader should trust, weights of the wrong dtype or kind, models
too large to build, damaged files, and files changed under a live model.
"""

from __future__ import annotations

import http.server
import json
import shutil
import subprocess
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
import safetensors.torch
import timm
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import scalenet
from hub_servers import HOST, hf_hub_environment
from scalenet import ConfigError, ScaleNetError, WeightsError
from scalenet.hub.load import check_revision


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> tuple[scalenet.ScaleNetModel, Path]:
    torch.manual_seed(0)
    model = scalenet.create("resnet20_cifar").eval()
    return model, model.save_pretrained(tmp_path_factory.mktemp("saved") / "r20")


@pytest.fixture
def copy(saved: tuple[scalenet.ScaleNetModel, Path], tmp_path: Path) -> Path:
    return Path(shutil.copytree(saved[1], tmp_path / "copy"))


# --- revisions, repository ids and paths: checked before any I/O -----------------------------


class _Answer200(http.server.BaseHTTPRequestHandler):
    """A server that answers 200 to everything (what made the revision attack work)."""

    requests: list[str] = []  # noqa: RUF012

    def do_GET(self) -> None:
        self.requests.append(self.path)
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    do_HEAD = do_GET

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def answers_200(tmp_path: Path) -> Iterator[tuple[Path, list[str]]]:
    server = http.server.ThreadingHTTPServer((HOST, 0), _Answer200)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
    )
    thread.start()
    _Answer200.requests = []
    home = tmp_path / "hf-home"
    try:
        with hf_hub_environment(f"http://{HOST}:{server.server_address[1]}", home):
            yield tmp_path, _Answer200.requests
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(
    "revision",
    ["../../../../x/victim.sh", "..", "main/../../x", "/etc/passwd", "a//b", "refs/.x", "x.lock",
     "a\\b", "a b", "a:b", "", "@", "a@{1}", "x\x00y"],
)  # fmt: skip
def test_a_revision_that_could_escape_the_cache_is_refused_before_any_request(
    answers_200: tuple[Path, list[str]], revision: str
) -> None:
    root, requests = answers_200
    before = snapshot(root)
    with pytest.raises(WeightsError, match="is not a valid git ref name"):
        scalenet.from_pretrained("org/repo", revision=revision)
    assert requests == []
    assert snapshot(root) == before


@pytest.mark.parametrize(
    ("revision", "filename", "field"),
    [
        ("../../../secret.txt", "model.safetensors", "revision"),
        ("refs/../../secret.txt", "model.safetensors", "revision"),
        (None, "../../secret.txt", "filename"),
        (None, "/etc/passwd", "filename"),
        (None, "a/./b", "filename"),
        (None, "a\\..\\b", "filename"),
        (None, "", "filename"),
    ],
)
def test_download_checks_revision_and_filename_before_touching_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, revision: str | None, filename: str,
    field: str,
) -> None:  # fmt: skip
    # scalenet.hub.load.download is public: a revision or filename that climbs out of the cache
    # must not read a file there (its text once appeared in a raw ValueError).
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    cache = tmp_path / "cache"
    (cache / "models--org--repo" / "refs").mkdir(parents=True)
    (tmp_path / "secret.txt").write_text("SECRET-TEXT")
    opened: list[str] = []
    real_open = open

    def spy(file: object, *args: object, **kwargs: object) -> object:
        opened.append(str(file))
        return real_open(file, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr("builtins.open", spy)
    with pytest.raises(WeightsError, match=f"^{field}=") as info:
        scalenet.hub.load.download("org/repo", filename, revision, cache_dir=cache)
    assert "SECRET" not in str(info.value)
    assert not [f for f in opened if str(tmp_path) in f]


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet="ab./@{}~^:?*[\\ -\x01\x7fé", max_size=12))
def test_revision_rule_is_gits(revision: str) -> None:
    if revision.startswith("-"):  # git would read it as an option; git branch refuses it
        with pytest.raises(WeightsError):
            check_revision(revision)
        return
    git = subprocess.run(
        ["git", "check-ref-format", "--allow-onelevel", revision], capture_output=True, check=False
    )
    try:
        check_revision(revision)
        ours = True
    except WeightsError:
        ours = False
    assert ours == (git.returncode == 0 and revision != "")


@pytest.mark.parametrize(
    "source",
    ["", "  ", "nope", "./nope", "../nope", "/nonexistent/model", "~/nope-scalenet", "a/b/c",
     Path("org/repo"), "org/../repo", "org/-repo", "org/re po"],
)  # fmt: skip
def test_a_path_or_bad_repo_id_fails_at_once_naming_it(
    answers_200: tuple[Path, list[str]], source: str | Path
) -> None:
    root, requests = answers_200
    start = time.perf_counter()
    with pytest.raises(WeightsError) as caught:
        scalenet.from_pretrained(source)
    assert time.perf_counter() - start < 1.0
    assert requests == []
    message = str(caught.value)
    assert (str(source).strip() or "empty") in message
    assert snapshot(root) == {}


def test_a_file_instead_of_a_folder(copy: Path) -> None:
    with pytest.raises(WeightsError, match="is a file: give the folder"):
        scalenet.from_pretrained(copy / "model.safetensors")


# --- config.json that no JSON reader should trust ---------------------------------------------


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (b"\xff\xfe{}", "UTF-8"),
        ('{"model_args": {"family": "resnet"}}'.encode("utf-16"), "UTF-8"),
        (b"[" * 100_000 + b"]" * 100_000, "nested"),
        (b'{"model_args": {"family": "resnet", "width": ' + b"9" * 5000 + b"}}", "valid JSON"),
        (b'{"model_args": {"family": "resnet", "width": 1e400}}', "width=inf"),
        (b" " * (2 << 20), "at most 1,048,576 bytes"),
    ],
    ids=["latin1", "utf16", "deep", "huge-int", "inf", "huge-file"],
)
def test_config_json_decoding_errors_are_config_errors(
    copy: Path, content: bytes, match: str
) -> None:
    (copy / "config.json").write_bytes(content)
    with pytest.raises(ConfigError, match=match):
        scalenet.from_pretrained(copy)


def test_an_edited_config_json_does_not_load_other_weights(copy: Path) -> None:
    data = json.loads((copy / "config.json").read_text())
    data["model_args"]["dropout"] = 0.5  # valid, and the weights still fit: but not this model
    (copy / "config.json").write_text(json.dumps(data))
    with pytest.raises(WeightsError, match=r"is not the one model\.safetensors was saved with"):
        scalenet.from_pretrained(copy)


# --- the parameter-count guard on every construction path -------------------------------------


def test_too_large_a_model_is_refused_before_allocation(tmp_path: Path) -> None:
    huge = r"config=.77,3\d\d,\d{3},\d{3} parameters. is not allowed: at most 2,000,000,000 "
    cases = [
        lambda: scalenet.create("resnet18", width=65536, depths=(1,)),
        lambda: scalenet.resnet(depths=(1,), width=65536),
        lambda: timm.create_model("scalenet_custom", family="resnet", depths=(1,), width=65536),
        lambda: timm.create_model("scalenet_resnet18", width=65536, depths=(1,)),
    ]
    model = scalenet.create("resnet20_cifar")
    model.save_pretrained(tmp_path / "m")
    data = json.loads((tmp_path / "m" / "config.json").read_text())
    data["model_args"] |= {"depths": [1], "width": 65536, "stem": "imagenet", "input_size": 64}
    (tmp_path / "m" / "config.json").write_text(json.dumps(data))
    cases += [
        lambda: scalenet.from_pretrained(tmp_path / "m"),
        lambda: timm.create_model(f"local-dir:{tmp_path / 'm'}", pretrained=True),
    ]
    for case in cases:
        start = time.perf_counter()
        with pytest.raises(ConfigError, match=huge):
            case()
        assert time.perf_counter() - start < 2.0  # 154 GB would take a while to even fail


# --- dtypes and kinds of weights ----------------------------------------------------------------


@pytest.mark.parametrize("stored", [torch.float16, torch.bfloat16, torch.float64])
def test_weights_load_in_float32_whatever_the_file_holds(
    saved: tuple[scalenet.ScaleNetModel, Path], copy: Path, stored: torch.dtype
) -> None:
    model = saved[0]
    state = {k: v.to(stored) if v.is_floating_point() else v for k, v in model.state_dict().items()}
    safetensors.torch.save_file(state, str(copy / "model.safetensors"))
    loaded = scalenet.from_pretrained(copy).eval()
    assert {t.dtype for t in loaded.parameters()} == {torch.float32}
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():  # the file's precision, in a float32 model that runs
        expected = model(x) if stored == torch.float64 else None
        out = loaded(x)
    if expected is not None:
        assert torch.equal(out, expected)
    assert out.dtype == torch.float32
    for chosen in (torch.bfloat16, "bfloat16", "torch.float16"):
        again = scalenet.from_pretrained(copy, dtype=chosen)
        dtype = chosen if isinstance(chosen, torch.dtype) else getattr(torch, chosen.split(".")[-1])
        assert {t.dtype for t in again.parameters()} == {dtype}


def test_a_mixed_dtype_file_gives_one_dtype(saved: tuple[scalenet.ScaleNetModel, Path], copy: Path):
    state = dict(saved[0].state_dict())
    state["fc.weight"] = state["fc.weight"].half()
    safetensors.torch.save_file(state, str(copy / "model.safetensors"))
    loaded = scalenet.from_pretrained(copy)
    assert {t.dtype for t in loaded.parameters()} == {torch.float32}
    assert loaded(torch.randn(1, 3, 32, 32)).dtype == torch.float32


@pytest.mark.parametrize("stored", [torch.int32, torch.int64, torch.uint8, torch.complex64])
def test_integer_or_complex_weights_are_refused(
    saved: tuple[scalenet.ScaleNetModel, Path], copy: Path, stored: torch.dtype
) -> None:
    state = {
        k: v.to(stored) if v.is_floating_point() else v for k, v in saved[0].state_dict().items()
    }
    if stored.is_complex:  # safetensors cannot write complex tensors: a checkpoint can
        torch.save(state, copy / "weights.pth")
        source: Path = copy / "weights.pth"
    else:
        safetensors.torch.save_file(state, str(copy / "model.safetensors"))
        with pytest.raises(WeightsError, match=rf"holds {stored} values where the model has float"):
            scalenet.from_pretrained(copy)
        source = copy / "model.safetensors"
    model = scalenet.create("resnet20_cifar")
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(WeightsError, match=rf"holds {stored} values where the model has float"):
        scalenet.load_weights(model, source)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


@pytest.mark.parametrize("dtype", ["float8_e4m3fn", "int8", torch.int64, "half-ish"])
def test_a_dtype_that_is_no_model_dtype_is_a_config_error(copy: Path, dtype: object) -> None:
    if isinstance(dtype, str) and hasattr(torch, dtype):
        dtype = getattr(torch, dtype)
    with pytest.raises(ConfigError, match=r"dtype=.* one of float32, float16, bfloat16"):
        scalenet.from_pretrained(copy, dtype=dtype)  # type: ignore[arg-type]


def test_non_finite_weights_load_with_a_warning(saved: tuple[scalenet.ScaleNetModel, Path]):
    state = dict(saved[0].state_dict())
    state["layer2.0.conv1.weight"] = state["layer2.0.conv1.weight"].clone()
    state["layer2.0.conv1.weight"][0, 0, 0, 0] = float("nan")
    state["fc.bias"] = torch.full_like(state["fc.bias"], float("inf"))
    model = scalenet.create("resnet20_cifar")
    with pytest.warns(UserWarning, match=r"2 weight tensors hold NaN or infinite values: .*conv1"):
        scalenet.load_weights(model, state)
    big = {k: v * 1e38 if k == "fc.weight" else v for k, v in saved[0].state_dict().items()}
    with warnings.catch_warnings():  # finite values whose sum overflows are no NaN
        warnings.simplefilter("error")
        scalenet.load_weights(model, big)
    for dtype in (torch.float16, torch.bfloat16, torch.float64):  # each summed its own way
        nan = {"w": torch.tensor([1.0, float("nan")], dtype=dtype)}
        with pytest.warns(UserWarning, match="1 weight tensors hold NaN"):
            scalenet.io.weights.conform(nan, {"w": torch.zeros(2)})
        huge = {"w": torch.tensor([torch.finfo(dtype).max] * 2, dtype=dtype)}
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            scalenet.io.weights.conform(huge, {"w": torch.zeros(2, dtype=dtype)})


# --- pickle checkpoints that are not state_dicts ------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "match"),
    [
        (None, "refused by torch.load"),
        ({0: torch.zeros(1), 1: torch.zeros(1)}, "has a key 0: parameter names are strings"),
        ({"fc.weight": torch.zeros(3, 3).to_sparse()}, r"torch.sparse_coo \(not dense\)"),
        ({"fc.weight": torch.zeros(3, device="meta")}, "a meta tensor"),
    ],
    ids=["empty", "int-keys", "sparse", "meta"],
)
def test_checkpoints_that_are_not_state_dicts(tmp_path: Path, payload: object, match: str) -> None:
    path = tmp_path / "ckpt.pth"
    if payload is None:
        path.write_bytes(b"")
    else:
        torch.save(payload, path)
    with pytest.raises(WeightsError, match=match):
        scalenet.load_weights(scalenet.create("resnet20_cifar"), path)
    if isinstance(payload, dict):
        with pytest.raises(WeightsError, match=match):
            scalenet.load_weights(scalenet.create("resnet20_cifar"), payload)


# --- other arguments of from_pretrained ---------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"in_chans": 0}, ConfigError, r"in_chans=0 is not allowed"),
        ({"in_chans": 2.5}, ConfigError, r"in_chans=2.5 is not allowed"),
        ({"num_classes": -1}, ConfigError, r"num_classes=-1 is not allowed"),
        ({"device": "banana"}, ConfigError, r"device='banana' is not allowed"),
        ({"device": "cuda:99"}, ConfigError, r"device='cuda:99' is not allowed: a device this"),
        # meta tensors hold no data: was a model without its weights and no error
        ({"device": "meta"}, ConfigError, r"device='meta' is not allowed: a device that holds"),
        ({"device": torch.device("meta")}, ConfigError, r"device=device\(type='meta'\)"),
    ],
)
def test_bad_arguments(copy: Path, kwargs: dict[str, object], error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        scalenet.from_pretrained(copy, **kwargs)  # type: ignore[arg-type]


# --- a loaded model does not change with its file -----------------------------------------------


def test_overwriting_or_truncating_the_file_leaves_a_loaded_model_alone(
    saved: tuple[scalenet.ScaleNetModel, Path], copy: Path
) -> None:
    loaded = scalenet.from_pretrained(copy).eval()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        before = loaded(x)
    other = scalenet.create("resnet20_cifar").state_dict()
    safetensors_bytes = (copy / "model.safetensors").read_bytes()
    with open(copy / "model.safetensors", "r+b") as file:  # in place, same inode
        file.write(safetensors.torch.save(other)[: len(safetensors_bytes)])
    with torch.no_grad():
        assert torch.equal(loaded(x), before)
    (copy / "model.safetensors").write_bytes(b"")  # a mapping would die of SIGBUS here
    with torch.no_grad():
        assert torch.equal(loaded(x), before)


# --- random damage: a named error, or exactly the saved model ----------------------------------


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    name=st.sampled_from(["model.safetensors", "config.json"]),
    edits=st.lists(
        st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)), min_size=1, max_size=4
    ),
    cut=st.one_of(st.none(), st.floats(0, 1)),
    header_bias=st.booleans(),
)
def test_random_damage_gives_a_named_error_or_the_exact_model(
    saved: tuple[scalenet.ScaleNetModel, Path],
    tmp_path: Path,
    name: str,
    edits: list[tuple[float, int]],
    cut: float | None,
    header_bias: bool,
) -> None:
    model, folder = saved
    target = tmp_path / "damaged"
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(folder, target)
    raw = bytearray((target / name).read_bytes())
    # Half the time, aim at the safetensors header (the first ~9 KB), where a byte means most.
    span = min(len(raw), 9000) if header_bias and name == "model.safetensors" else len(raw)
    for where, value in edits:
        raw[int(where * span)] = value
    if cut is not None:
        raw = raw[: int(cut * len(raw))]
    (target / name).write_bytes(bytes(raw))
    try:
        loaded = scalenet.from_pretrained(target)
    except ScaleNetError:
        return
    assert loaded.config == model.config
    saved_state, loaded_state = model.state_dict(), loaded.state_dict()
    assert saved_state.keys() == loaded_state.keys()
    assert all(torch.equal(saved_state[k], loaded_state[k]) for k in saved_state)


def test_the_parameter_cap_holds_for_every_way_to_grow_a_model(
    copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # num_classes and in_chans given to from_pretrained, and reset_classifier, once built
    # their layers without the MAX_PARAMS check that building a config passes.
    model = scalenet.from_pretrained(copy)
    params = sum(p.numel() for p in model.parameters())
    monkeypatch.setattr(scalenet.config, "MAX_PARAMS", params + 1_000)
    for kwargs in ({"num_classes": 20_000}, {"in_chans": 10_000}):
        with pytest.raises(ConfigError, match=r"^config='[\d,]+ parameters' is not allowed"):
            scalenet.from_pretrained(copy, **kwargs)  # type: ignore[arg-type]
    head = model.fc
    with pytest.raises(ConfigError, match="parameters' is not allowed"):
        model.reset_classifier(20_000)
    assert model.fc is head  # nothing replaced
    assert model.num_classes == model.config.num_classes == head.out_features
    model.reset_classifier(11)  # within the cap: allowed
    assert model.fc.out_features == 11


def test_a_head_of_2_to_the_24_classes_on_resnet50_is_refused_before_allocating() -> None:
    # 2048 x 2**24 weights: 137 GB, once a raw allocation error; the cap is checked first.
    with torch.device("meta"):
        model = scalenet.create("resnet50")
    # torchvision's resnet50 has 25,557,032 parameters, 2048 x 1000 + 1000 of them in fc
    expected = 25_557_032 - 2_049_000 + 2049 * (1 << 24)
    with pytest.raises(ConfigError, match=f"config='{expected:,} parameters'"):
        model.reset_classifier(1 << 24)
