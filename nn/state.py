"""Saving and loading MLPs as JSON: the architecture and every parameter, never pickle.

The file is versioned and self-describing, so `load(path)` rebuilds the model on its own:

    {"format": "nn.MLP", "version": 1, "nin": 1, "nouts": [2, 2],
     "activation": "sigmoid", "output_activation": "sigmoid",
     "weights": [[[0.2], [-0.3]], [[0.4, -0.5], [0.3, 0.8]]],
     "biases": [[0.1, 0.1], [0.2, -0.1]]}

weights[l] is layer l+1's nout x nin matrix (z = W x + b). Everything is checked before a model
is built; a malformed file raises ValueError saying what is wrong and where. `load` reads regular
files of at most MAX_BYTES only, so a device, a pipe or a huge file is refused at once.
"""

from __future__ import annotations

import json
import os
import secrets
import stat
from pathlib import Path
from typing import Any

from autodiff import checks
from nn.module import MLP, activation_name

FORMAT = "nn.MLP"
VERSION = 1
_KEYS = ("format", "version", "nin", "nouts", "activation", "output_activation")
MAX_BYTES = 64 * 2**20  # 64 MiB of JSON: about three million parameters


def save(model: MLP, path: str | os.PathLike[str]) -> None:
    """Write `model` to `path` as JSON, one layer's matrix per line.

    Atomic (a synced temp file renamed over the old one); an existing file keeps its permission
    bits, and a symlink keeps pointing at the file it names, which is the one rewritten.
    """
    if not isinstance(model, MLP):
        raise TypeError(f"save: model must be an MLP (got {type(model).__name__})")
    header = {
        "format": FORMAT,
        "version": VERSION,
        "nin": model.nin,
        "nouts": list(model.nouts),
        "activation": model.activation,
        "output_activation": model.output_activation,
    }
    lines = [f"  {json.dumps(key)}: {json.dumps(value)}" for key, value in header.items()]
    for key, arrays in (("weights", model.weights()), ("biases", model.biases())):
        rows = ",\n    ".join(json.dumps(a.tolist(), allow_nan=False) for a in arrays)
        lines.append(f'  "{key}": [\n    {rows}\n  ]')
    text = "{\n" + ",\n".join(lines) + "\n}\n"
    _replace_atomically(Path(os.path.realpath(path)), text.encode("utf-8"), "save")


def _replace_atomically(target: Path, data: bytes, where: str) -> None:
    """Write `data` to `target` so that a crash leaves the old file or the new one, never half.

    `target` is the real path (a symlink's target is written, the link stays). The new file
    takes the old one's permission bits, or those open(path, "w") would give a new file (0o666
    less the umask); it is synced to disk before the rename, and the folder after it.
    """
    try:
        old = os.stat(target)
    except FileNotFoundError:
        mode = None
    else:
        if not stat.S_ISREG(old.st_mode):
            raise ValueError(
                f"{where}: path must be a regular file or a new name (got {_kind(old.st_mode)})"
            )
        mode = stat.S_IMODE(old.st_mode)
    tmp = target.with_name(f".{target.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            if mode is not None and hasattr(os, "fchmod"):
                os.fchmod(f.fileno(), mode)
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if os.name == "posix":  # the rename itself is durable once the folder is synced
        folder = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)


def _kind(mode: int) -> str:
    """What a file that is not a regular one is, for a message."""
    kinds = [
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a pipe (FIFO)"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ]
    return next((name for test, name in kinds if test(mode)), "not a regular file")


def _read(path: str | os.PathLike[str], where: str) -> bytes:
    """The bytes of a regular file of at most MAX_BYTES; anything else is refused before reading.

    The file is opened without waiting (a FIFO would otherwise block until a writer comes) and
    checked on the open descriptor, so it cannot be swapped between check and read.
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    too_big = f"{where}: must be a model file of at most {MAX_BYTES} bytes"
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ValueError(f"{where}: must be a regular file (got {_kind(info.st_mode)})")
        if info.st_size > MAX_BYTES:
            raise ValueError(f"{too_big} (got {info.st_size} bytes)")
    except BaseException:
        os.close(fd)
        raise
    with os.fdopen(fd, "rb") as f:
        data = f.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:  # it grew while being read
        raise ValueError(f"{too_big} (got more)")
    return data


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows (parameters must be finite)")


def load(path: str | os.PathLike[str]) -> MLP:
    """Read a model written by `save`: the architecture and parameters, checked first."""
    where = f"load {os.fspath(path)!r}"
    try:
        text = _read(path, where).decode("utf-8")
    except UnicodeDecodeError as error:
        raise ValueError(f"{where}: not a UTF-8 text file, so not a model file ({error})") from None
    try:
        doc = json.loads(text, parse_constant=_refuse_constant)
    except RecursionError:
        raise ValueError(f"{where}: nested too deeply to be a model file") from None
    except ValueError as error:
        raise ValueError(f"{where}: not valid JSON for a model ({error})") from None
    return from_document(doc, where)


def from_document(doc: Any, where: str = "load") -> MLP:
    """An MLP from the parsed JSON document of `save`, every field checked before building."""
    if not isinstance(doc, dict):
        raise ValueError(f"{where}: the file must hold a JSON object (got {type(doc).__name__})")
    missing = [key for key in (*_KEYS, "weights", "biases") if key not in doc]
    if missing:
        raise ValueError(f"{where}: missing {', '.join(missing)}")
    if doc["format"] != FORMAT:
        raise ValueError(f"{where}: format must be {FORMAT!r} (got {doc['format']!r:.40})")
    if type(doc["version"]) is not int or doc["version"] != VERSION:
        raise ValueError(
            f"{where}: version must be {VERSION}, the only one this reads "
            f"(got {doc['version']!r:.40})"
        )
    nin = checks.size(doc["nin"], f"{where}: nin")
    nouts = doc["nouts"]
    if not isinstance(nouts, list) or not nouts:
        raise ValueError(f"{where}: nouts must be a non-empty list (got {nouts!r:.40})")
    sizes = [checks.size(n, f"{where}: nouts[{i}]") for i, n in enumerate(nouts)]
    activation = activation_name(doc["activation"], f"{where}: activation")
    output_activation = activation_name(doc["output_activation"], f"{where}: output_activation")
    weights, biases = doc["weights"], doc["biases"]
    for key, value in (("weights", weights), ("biases", biases)):
        if not isinstance(value, list) or len(value) != len(sizes):
            found = len(value) if isinstance(value, list) else type(value).__name__
            raise ValueError(
                f"{where}: {key} must be a list of {len(sizes)} layers, as nouts says (got {found})"
            )
    rows, vectors = [], []
    for i, (fan_in, fan_out) in enumerate(zip([nin, *sizes], sizes, strict=False)):
        rows.append(checks.matrix(weights[i], (fan_out, fan_in), f"{where}: weights[{i}]"))
        vectors.append(checks.vector(biases[i], fan_out, f"{where}: biases[{i}]"))
    return MLP.from_weights(rows, vectors, activation, output_activation)
