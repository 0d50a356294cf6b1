"""Reading user-provided SMPL / SMPL-H model files safely, without chumpy and without plain pickle.

Accepted inputs (``model_type`` is ``smpl`` or ``smplh``):

- a file: ``.npz`` (read with ``np.load(allow_pickle=False)``) or a chumpy-free ``.pkl``, read by a
  restricted unpickler that only rebuilds numpy arrays (pickle protocols 0–5), numpy scalars and
  dtypes, and scipy CSC/CSR
  sparse matrices (as inert placeholders turned into dense arrays here; scipy code never runs).
  Any other global, chumpy's included, is refused with a one-line BodyModelError;
- a folder in smplx layout: ``<dir>/smpl/SMPL_NEUTRAL.{npz,pkl}`` or
  ``<dir>/smplh/SMPLH_NEUTRAL.{npz,pkl}`` (also accepted directly under ``<dir>``).

``load_model_arrays`` returns the checked arrays smplx reads (letters: V vertices, J joints, F faces,
K shape components): ``v_template (V,3)``, ``shapedirs (V,3,K)``, ``posedirs (V,3,9(J-1))`` or
``(3V, 9(J-1))``, ``J_regressor (J,V)`` dense, ``weights (V,J)``, ``kintree_table (2,J)``, ``f (F,3)``.
"""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
from numpy._core import multiarray as np_multiarray
from numpy._core import numeric as np_numeric

from bench.body.joints import JOINT_NAMES, NUM_POSE_JOINTS, SMPL_PARENTS
from bench.errors import BodyModelError

REQUIRED_KEYS = ("v_template", "shapedirs", "posedirs", "J_regressor", "weights", "kintree_table", "f")
"""Keys an SMPL-format model file must hold."""

_FINGERS = ("index", "middle", "pinky", "ring", "thumb")


def _smplh_tree() -> tuple[tuple[str, ...], tuple[int, ...]]:
    """SMPL-H: SMPL's 22 body joints, then 5 fingers × 3 joints per hand (left hand first)."""
    names = list(JOINT_NAMES[:NUM_POSE_JOINTS])
    parents = list(SMPL_PARENTS[:NUM_POSE_JOINTS])
    for side, wrist in (("left", JOINT_NAMES.index("left_wrist")), ("right", JOINT_NAMES.index("right_wrist"))):
        for finger in _FINGERS:
            for k in (1, 2, 3):
                parents.append(wrist if k == 1 else len(names) - 1)
                names.append(f"{side}_{finger}{k}")
    return tuple(names), tuple(parents)


SMPLH_JOINT_NAMES, SMPLH_PARENTS = _smplh_tree()
TREES: dict[str, tuple[tuple[str, ...], tuple[int, ...]]] = {
    "smpl": (JOINT_NAMES, SMPL_PARENTS),
    "smplh": (SMPLH_JOINT_NAMES, SMPLH_PARENTS),
}
"""Joint names and parents per model type."""

_FILE_STEMS = {"smpl": "SMPL_NEUTRAL", "smplh": "SMPLH_NEUTRAL"}


def resolve_model_file(path: Path, model_type: str) -> Path:
    """The model file for ``path`` (a file, or a folder in smplx layout); BodyModelError if none."""
    if not path.exists():
        raise BodyModelError(f"{model_type} body model file or folder not found", file=path)
    if path.is_file():
        return path
    stem = _FILE_STEMS[model_type]
    for folder in (path / model_type, path):
        for ext in ("npz", "pkl"):
            if (folder / f"{stem}.{ext}").is_file():
                return folder / f"{stem}.{ext}"
    raise BodyModelError(
        f"no {stem}.npz or {stem}.pkl in this folder or its {model_type}/ subfolder (smplx layout)", file=path
    )


class _SparseState:
    """Inert stand-in for a pickled scipy sparse matrix: keeps its state dict, runs no scipy code."""

    layout = ""

    def __setstate__(self, state: Any) -> None:
        self.state = state

    def to_dense(self, file: Path) -> np.ndarray:
        state = self.state if isinstance(self.state, dict) else {}
        try:
            data, indices, indptr = (np.asarray(state[k]) for k in ("data", "indices", "indptr"))
            shape = tuple(int(s) for s in state.get("_shape", state.get("shape")))
            major = np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))
            dense = np.zeros(shape, dtype=np.float64)
            rows, cols = (indices, major) if self.layout == "csc" else (major, indices)
            np.add.at(dense, (rows, cols), data)
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise BodyModelError(f"malformed pickled {self.layout} sparse matrix ({exc})", file=file) from None
        return dense


class _CscState(_SparseState):
    layout = "csc"


class _CsrState(_SparseState):
    layout = "csr"


def _rebuild_placeholder(cls: type, base: object, state: object) -> _SparseState:
    """Stand-in for ``copyreg._reconstructor`` (protocol 0/1 objects): only our placeholders."""
    if not (isinstance(cls, type) and issubclass(cls, _SparseState)):
        raise pickle.UnpicklingError("copyreg._reconstructor for a class that is not allowed")
    return cls()


def _latin1_encode(text: str, encoding: str = "latin1") -> bytes:
    """Stand-in for ``_codecs.encode``, which protocol 0–2 pickles use for raw bytes."""
    if encoding.replace("-", "").lower() not in ("latin1", "iso88591"):
        raise pickle.UnpicklingError(f"_codecs.encode with encoding {encoding!r} is not allowed")
    return text.encode("latin1")


_ALLOWED_GLOBALS: dict[tuple[str, str], object] = {
    **{(m, "_reconstruct"): np_multiarray._reconstruct for m in ("numpy.core.multiarray", "numpy._core.multiarray")},
    **{(m, "scalar"): np_multiarray.scalar for m in ("numpy.core.multiarray", "numpy._core.multiarray")},
    **{(m, "_frombuffer"): np_numeric._frombuffer for m in ("numpy.core.numeric", "numpy._core.numeric")},
    ("numpy", "ndarray"): np.ndarray,
    ("_codecs", "encode"): _latin1_encode,
    ("numpy", "dtype"): np.dtype,
    **{(m, "_reconstructor"): _rebuild_placeholder for m in ("copy_reg", "copyreg")},
    **{(m, "object"): object for m in ("__builtin__", "builtins")},
}
_SPARSE_CLASSES = {"csc_matrix": _CscState, "csc_array": _CscState, "csr_matrix": _CsrState, "csr_array": _CsrState}


class _ChumpyFound(pickle.UnpicklingError):
    pass


class _RestrictedUnpickler(pickle.Unpickler):
    """Resolves only the globals numpy arrays (and scipy CSC/CSR placeholders) need."""

    def find_class(self, module: str, name: str) -> Any:
        if module.split(".")[0] == "chumpy":
            raise _ChumpyFound(f"{module}.{name}")
        if (module, name) in _ALLOWED_GLOBALS:
            return _ALLOWED_GLOBALS[module, name]
        if module.split(".")[0] == "scipy" and ".sparse" in module and name in _SPARSE_CLASSES:
            return _SPARSE_CLASSES[name]
        raise pickle.UnpicklingError(f"global {module}.{name} is not allowed")


def _read_pkl(file: Path) -> dict[str, Any]:
    try:
        with open(file, "rb") as handle:
            data = _RestrictedUnpickler(handle, encoding="latin1").load()
    except _ChumpyFound as exc:
        raise BodyModelError(
            f"stores chumpy objects ({exc}); convert it once to a chumpy-free .npz of plain numpy arrays", file=file
        ) from None
    except Exception as exc:  # noqa: BLE001 - any failure of untrusted bytes is a bad file
        reason = f"{type(exc).__name__}: {exc}"
        raise BodyModelError(f"cannot read as a chumpy-free SMPL pickle ({reason})", file=file) from None
    if not isinstance(data, dict):
        raise BodyModelError(f"expected a pickled dict of arrays, found {type(data).__name__}", file=file)
    return data


def _read_npz(file: Path) -> dict[str, Any]:
    try:
        with np.load(file, allow_pickle=False) as archive:
            return {key: archive[key] for key in archive.files}
    except ValueError as exc:
        if "allow_pickle" in str(exc):
            message = "holds pickled Python objects; save the model as plain numeric arrays"
            raise BodyModelError(message, file=file) from None
        raise BodyModelError(f"cannot read as .npz ({exc})", file=file) from None
    except (OSError, EOFError, zipfile.BadZipFile, KeyError) as exc:
        raise BodyModelError(f"cannot read as .npz ({type(exc).__name__}: {exc})", file=file) from None


def load_model_arrays(file: Path, model_type: str) -> dict[str, np.ndarray]:
    """Read and check an SMPL (``model_type="smpl"``) or SMPL-H (``"smplh"``) model file.

    Returns the ``REQUIRED_KEYS`` arrays (float64 floats, int64 ``f`` and ``kintree_table``, dense
    ``J_regressor``). Raises BodyModelError naming the file and field for anything malformed.
    """
    suffix = file.suffix.lower()
    if suffix == ".npz":
        raw = _read_npz(file)
    elif suffix == ".pkl":
        raw = _read_pkl(file)
    else:
        raise BodyModelError(f"unsupported body model format {suffix or '(none)'!r}; expected .npz or .pkl", file=file)
    missing = [key for key in REQUIRED_KEYS if key not in raw]
    if missing:
        needed = ", ".join(REQUIRED_KEYS)
        message = f"missing {', '.join(missing)} (an SMPL-format model needs {needed})"
        raise BodyModelError(message, file=file, field=missing[0])
    arrays = {}
    for key in REQUIRED_KEYS:
        value = raw[key].to_dense(file) if isinstance(raw[key], _SparseState) else raw[key]
        if not isinstance(value, np.ndarray) or value.dtype.kind not in "iuf":
            found = f"{value.dtype} array" if isinstance(value, np.ndarray) else type(value).__name__
            raise BodyModelError(f"expected a numeric array, found {found}", file=file, field=key)
        integer = key in ("f", "kintree_table")
        arrays[key] = value.astype(np.int64 if integer else np.float64)
    _check_arrays(arrays, file, model_type)
    return arrays


def _check_arrays(arrays: dict[str, np.ndarray], file: Path, model_type: str) -> None:
    names, parents = TREES[model_type]
    num_joints = len(names)
    v_template = arrays["v_template"]
    if v_template.ndim != 2 or v_template.shape[1] != 3 or len(v_template) == 0:
        raise BodyModelError(f"expected shape (V, 3), got {v_template.shape}", file=file, field="v_template")
    num_vertices = len(v_template)
    regressor = arrays["J_regressor"]
    if regressor.ndim != 2 or regressor.shape[1] != num_vertices:
        message = f"expected shape (J, {num_vertices}), got {regressor.shape}"
        raise BodyModelError(message, file=file, field="J_regressor")
    if len(regressor) != num_joints:
        other = next((t for t, (n, _) in TREES.items() if len(n) == len(regressor)), None)
        hint = f"; is it an {other.upper()} file? use the {other} body model" if other else ""
        message = f"has {len(regressor)} joints, {model_type} needs {num_joints}{hint}"
        raise BodyModelError(message, file=file, field="J_regressor")
    expected = {"weights": (num_vertices, num_joints), "kintree_table": (2, num_joints)}
    for key, shape in expected.items():
        if arrays[key].shape != shape:
            raise BodyModelError(f"expected shape {shape}, got {arrays[key].shape}", file=file, field=key)
    if arrays["shapedirs"].ndim != 3 or arrays["shapedirs"].shape[:2] != (num_vertices, 3):
        message = f"expected shape ({num_vertices}, 3, K), got {arrays['shapedirs'].shape}"
        raise BodyModelError(message, file=file, field="shapedirs")
    num_pose_basis = 9 * (num_joints - 1)
    posedirs = arrays["posedirs"]
    if posedirs.shape[-1] != num_pose_basis or posedirs.size != num_vertices * 3 * num_pose_basis:
        want = f"({num_vertices}, 3, {num_pose_basis})"
        raise BodyModelError(f"expected shape {want}, got {posedirs.shape}", file=file, field="posedirs")
    faces = arrays["f"]
    if faces.ndim != 2 or faces.shape[1] != 3 or faces.min(initial=0) < 0 or faces.max(initial=0) >= num_vertices:
        raise BodyModelError(f"expected (F, 3) vertex indices below {num_vertices}", file=file, field="f")
    if tuple(arrays["kintree_table"][0, 1:]) != parents[1:]:
        message = f"kinematic tree differs from the standard {model_type} tree"
        raise BodyModelError(message, file=file, field="kintree_table")
    for key in ("v_template", "shapedirs", "posedirs", "J_regressor", "weights"):
        if not np.isfinite(arrays[key]).all():
            raise BodyModelError("contains NaN or infinite values", file=file, field=key)
