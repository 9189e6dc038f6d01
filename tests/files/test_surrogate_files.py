"""Malicious and corrupted surrogate folders (issue 19, items 1-3): each is refused with a
named error before any model answers a query, and nothing outside the folder is read."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from hasbench.errors import SchemaError
from hasbench.surrogates import CurveSurrogate
from hasbench.surrogates.model import SurrogateHashError


def _copy(sur, tmp_path, name="s.surrogate") -> Path:
    d = tmp_path / name
    shutil.copytree(sur.path, d)
    return d


def _man(d: Path) -> dict:
    return json.loads((d / "manifest.json").read_text())


def _write(d: Path, man: dict) -> None:
    (d / "manifest.json").write_text(json.dumps(man))


def _rehash(d: Path, man: dict, name: str) -> None:
    data = (d / name).read_bytes()
    man["files"][name] = hashlib.sha256(data).hexdigest()
    man.setdefault("sizes", {})[name] = len(data)


@pytest.fixture
def other(syn_surrogate, tmp_path):
    """A second, different model file outside the folder (``tmp/outside.ubj.gz``)."""
    src = syn_surrogate.path / "mean_valid_acc.ubj.gz"
    raw = gzip.decompress(src.read_bytes())
    out = tmp_path / "outside.ubj.gz"
    out.write_bytes(gzip.compress(raw))
    return out


def test_model_path_outside_the_folder_is_refused(syn_surrogate, tmp_path, other):
    for bad in (str(other), "../outside.ubj.gz"):
        d = _copy(syn_surrogate, tmp_path, f"s{abs(hash(bad))}.surrogate")
        man = _man(d)
        man["models"]["mean:valid_acc"]["files"] = [bad]
        _write(d, man)
        with pytest.raises(SchemaError, match="surrogate folder|listed"):
            CurveSurrogate.load(d)
    # stem is never used as a path
    d = _copy(syn_surrogate, tmp_path, "stem.surrogate")
    man = _man(d)
    man["models"]["mean:valid_acc"]["stem"] = "../outside"
    man["models"]["mean:valid_acc"].pop("files")
    _write(d, man)
    with pytest.raises(SchemaError, match="files"):
        CurveSurrogate.load(d)
    # listing the outside file does not help either
    d = _copy(syn_surrogate, tmp_path, "listed.surrogate")
    man = _man(d)
    man["models"]["mean:valid_acc"]["files"] = ["../outside.ubj.gz"]
    man["files"]["../outside.ubj.gz"] = hashlib.sha256(other.read_bytes()).hexdigest()
    _write(d, man)
    with pytest.raises(SchemaError, match="plain file name"):
        CurveSurrogate.load(d)


def test_empty_or_missing_files_map_is_an_error(syn_surrogate, tmp_path):
    for variant in ("empty", "missing"):
        d = _copy(syn_surrogate, tmp_path, f"{variant}.surrogate")
        man = _man(d)
        if variant == "empty":
            man["files"] = {}
        else:
            del man["files"]
        _write(d, man)
        with pytest.raises(SchemaError, match="files"):
            CurveSurrogate.load(d)


def test_symlinks_leaving_the_folder_and_devices_are_refused(syn_surrogate, tmp_path, other):
    d = _copy(syn_surrogate, tmp_path, "link.surrogate")
    os.unlink(d / "mean_valid_acc.ubj.gz")
    os.symlink("/dev/zero", d / "mean_valid_acc.ubj.gz")
    with pytest.raises(SchemaError, match="outside the folder|regular file"):
        CurveSurrogate.load(d)
    d = _copy(syn_surrogate, tmp_path, "link2.surrogate")
    os.unlink(d / "mean_valid_acc.ubj.gz")
    os.symlink(other, d / "mean_valid_acc.ubj.gz")
    with pytest.raises(SchemaError, match="outside the folder"):
        CurveSurrogate.load(d)


def test_sizes_are_checked_before_reading(syn_surrogate, tmp_path):
    d = _copy(syn_surrogate, tmp_path)
    man = _man(d)
    assert man["sizes"]["mean_valid_acc.ubj.gz"] == (d / "mean_valid_acc.ubj.gz").stat().st_size
    with open(d / "mean_valid_acc.ubj.gz", "ab") as fh:  # a sparse 2 GB file: never read
        fh.truncate(2 << 30)
    with pytest.raises(SchemaError, match="size"):
        CurveSurrogate.load(d)
    del man["sizes"]  # an old manifest without sizes: the cap applies
    _write(d, man)
    with pytest.raises(SchemaError, match="size"):
        CurveSurrogate.load(d, max_file_bytes=1 << 20)


def test_training_table_name_cannot_point_elsewhere(syn_surrogate, tmp_path):
    d = _copy(syn_surrogate, tmp_path)
    man = _man(d)
    man["training_table"]["name"] = "../../../../../etc/passwd"
    _write(d, man)
    with pytest.raises(SchemaError, match="plain file name") as ei:
        CurveSurrogate.load(d)
    assert hashlib.sha256(Path("/etc/passwd").read_bytes()).hexdigest() not in str(ei.value)


def test_unlisted_or_tampered_file_raises_hash_error(syn_surrogate, tmp_path):
    d = _copy(syn_surrogate, tmp_path)
    p = d / "time.ubj.gz"
    b = bytearray(p.read_bytes())
    b[len(b) // 2] ^= 0xFF
    p.write_bytes(bytes(b))
    with pytest.raises(SurrogateHashError):
        CurveSurrogate.load(d)


@pytest.mark.parametrize("edit, match", [
    (lambda m: m["clip"].__setitem__("valid_acc", [5, 7]), "clip.valid_acc"),
    (lambda m: m.pop("fill"), "fill"),
    (lambda m: m.pop("noise"), "noise"),
    (lambda m: m["noise"].pop("std_factor"), "std_factor"),
    (lambda m: m.__setitem__("max_epochs", "27"), "max_epochs"),
    (lambda m: m.__setitem__("time_profile", [1.0]), "time_profile"),
    (lambda m: m["noise"]["corr"].__setitem__("valid_loss", 3.0), "corr"),
    (lambda m: m["models"].pop("mean:valid_acc"), "models"),
    (lambda m: m["models"]["time"].__setitem__("role", "mean"), "role"),
    (lambda m: m["layout"].__setitem__("scale_lo", [0.0]), "scale_lo"),
    (lambda m: m.__setitem__("metrics", []), "metrics"),
    (lambda m: m.__setitem__("calibration_fraction", 7), "calibration_fraction"),
    (lambda m: m.__setitem__("space", {"bogus": 1}), "space"),
])
def test_bad_manifest_values_raise_named_errors(syn_surrogate, tmp_path, edit, match):
    d = _copy(syn_surrogate, tmp_path)
    man = _man(d)
    edit(man)
    _write(d, man)
    with pytest.raises(SchemaError, match=match):
        CurveSurrogate.load(d)


# ------------------------------------------------------------------ corrupt model bytes
def _ubj(v) -> bytes:
    """A minimal UBJSON writer (XGBoost's subset) to build structurally corrupt models."""
    import struct

    def length(n):
        return b"L" + struct.pack(">q", n)

    if isinstance(v, dict):
        out = b"{"
        for k, x in v.items():
            kb = k.encode()
            out += length(len(kb)) + kb + _ubj(x)
        return out + b"}"
    if isinstance(v, np.ndarray):
        code = {"f": (b"d", ">f4"), "i": (b"l", ">i4"), "u": (b"U", ">u1")}[v.dtype.kind]
        return b"[$" + code[0] + b"#" + length(v.size) + v.astype(code[1]).tobytes()
    if isinstance(v, list):
        return b"[#" + length(len(v)) + b"".join(_ubj(x) for x in v)
    if isinstance(v, str):
        return b"S" + length(len(v.encode())) + v.encode()
    if isinstance(v, bool):
        return b"T" if v else b"F"
    if isinstance(v, int):
        return b"L" + struct.pack(">q", v)
    if isinstance(v, float):
        return b"D" + struct.pack(">d", v)
    raise TypeError(type(v))


def _mutated_folder(sur, tmp_path, name, mutate) -> Path:
    from hasbench.surrogates._verify import parse_ubj

    d = _copy(sur, tmp_path, name)
    fn = "mean_valid_acc.ubj.gz"
    doc = parse_ubj(gzip.decompress((d / fn).read_bytes()))
    assert parse_ubj(_ubj(doc)).keys() == doc.keys()
    mutate(doc)
    (d / fn).write_bytes(gzip.compress(_ubj(doc)))
    man = _man(d)
    _rehash(d, man, fn)
    _write(d, man)
    return d


def _tree(doc, t=0):
    return doc["learner"]["gradient_booster"]["model"]["trees"][t]


STRUCTURAL = {
    "child out of range": lambda doc: _tree(doc)["left_children"].__setitem__(0, 10 ** 6),
    "child before parent": lambda doc: _tree(doc)["right_children"].__setitem__(0, 0),
    "split feature out of range": lambda doc: _tree(doc)["split_indices"].__setitem__(0, 999),
    "negative split feature": lambda doc: _tree(doc)["split_indices"].__setitem__(0, -5),
    "num_nodes larger than arrays": lambda doc: _tree(doc)["tree_param"].__setitem__(
        "num_nodes", "100000"),
    "array shorter": lambda doc: _tree(doc).__setitem__(
        "parents", _tree(doc)["parents"][:-1]),
    "num_feature": lambda doc: doc["learner"]["learner_model_param"].__setitem__(
        "num_feature", "3"),
    "tree dropped": lambda doc: doc["learner"]["gradient_booster"]["model"]["trees"].pop(),
    "multi-output": lambda doc: doc["learner"]["learner_model_param"].__setitem__(
        "num_target", "4"),
    "categorical": lambda doc: _tree(doc)["split_type"].__setitem__(0, 1),
    "nan threshold": lambda doc: _tree(doc)["split_conditions"].__setitem__(0, np.nan),
}


@pytest.mark.parametrize("what", sorted(STRUCTURAL))
def test_structurally_corrupt_xgboost_model_is_refused(syn_surrogate, tmp_path, what):
    d = _mutated_folder(syn_surrogate, tmp_path, "m.surrogate", STRUCTURAL[what])
    with pytest.raises(SchemaError, match="structure|XGBoost"):
        CurveSurrogate.load(d)


def test_random_byte_mutations_never_crash_the_interpreter(syn_surrogate, tmp_path):
    """40 random byte edits of a model's UBJSON with a recomputed hash: each load ends in
    a loaded model or a SchemaError, in a subprocess that must not die of a signal."""
    fn = "mean_valid_acc.ubj.gz"
    raw = gzip.decompress((syn_surrogate.path / fn).read_bytes())
    rng = np.random.default_rng(19)
    folders = []
    for k in range(40):
        b = bytearray(raw)
        for _ in range(int(rng.integers(1, 4))):
            b[int(rng.integers(0, len(b)))] = int(rng.integers(0, 256))
        d = _copy(syn_surrogate, tmp_path, f"r{k}.surrogate")
        (d / fn).write_bytes(gzip.compress(bytes(b)))
        man = _man(d)
        _rehash(d, man, fn)
        _write(d, man)
        folders.append(str(d))
    code = textwrap.dedent("""
        import sys, json
        import numpy as np
        from hasbench.errors import SchemaError
        from hasbench.surrogates import CurveSurrogate
        out = []
        for d in sys.argv[1:]:
            try:
                s = CurveSurrogate.load(d, verify_table=False)
                X = s.space.encode(s.space.sample(5, 0))
                s.predict(X, np.full(5, 3.0), ["valid_acc"])
                out.append("loaded")
            except SchemaError:
                out.append("refused")
        print(json.dumps(out))
    """)
    proc = subprocess.run([sys.executable, "-c", code, *folders], capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert len(out) == 40 and "refused" in out


def test_npz_mlp_structure_checked(tmp_path, syn_table):
    pytest.importorskip("torch")
    sur = CurveSurrogate("mlp", params={"epochs": 2, "hidden": [8], "members": 2,
                                        "std": {"n_estimators": 5},
                                        "time": {"n_estimators": 5},
                                        "static": {"n_estimators": 5}},
                         calibration_fraction=0.0, n_jobs=1).fit(syn_table,
                                                                  metrics=["valid_acc"])
    sur.save(tmp_path / "mlp.surrogate")
    CurveSurrogate.load(tmp_path / "mlp.surrogate")
    fn = "mean_valid_acc.npz"
    for k, mut in enumerate([lambda z: z.__setitem__("m0_w0", z["m0_w0"][:-1]),
                             lambda z: z.__setitem__("m1_b0", z["m1_b0"][:3]),
                             lambda z: z.__setitem__("y_mean", z["y_mean"][:2]),
                             lambda z: z.__setitem__("n_members", np.array([5]))]):
        d = _copy(sur, tmp_path, f"mlp{k}.surrogate")
        with np.load(d / fn) as f:
            z = {n: f[n] for n in f.files}
        mut(z)
        os.unlink(d / fn)
        np.savez(d / fn, **z)
        man = _man(d)
        _rehash(d, man, fn)
        _write(d, man)
        with pytest.raises(SchemaError):
            CurveSurrogate.load(d)
