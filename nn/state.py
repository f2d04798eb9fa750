"""Saving and loading MLPs as JSON: the architecture and every parameter, never pickle.

The file is versioned and self-describing, so `load(path)` rebuilds the model on its own:

    {"format": "nn.MLP", "version": 1, "nin": 1, "nouts": [2, 2],
     "activation": "sigmoid", "output_activation": "sigmoid",
     "weights": [[[0.2], [-0.3]], [[0.4, -0.5], [0.3, 0.8]]],
     "biases": [[0.1, 0.1], [0.2, -0.1]]}

weights[l] is layer l+1's nout x nin matrix (z = W x + b). Everything is checked before a model
is built; a malformed file raises ValueError saying what is wrong and where.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any

from autodiff import checks
from nn.module import MLP, activation_name

FORMAT = "nn.MLP"
VERSION = 1
_KEYS = ("format", "version", "nin", "nouts", "activation", "output_activation")


def save(model: MLP, path: str | os.PathLike[str]) -> None:
    """Write `model` to `path` as JSON, one layer's matrix per line; atomic (temp file, rename)."""
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
    target = Path(path)
    tmp = target.with_name(f".{target.name}.{secrets.token_hex(8)}.tmp")
    # mode 0o666 so the umask applies, as for open(path, "w"); mkstemp would make it 0o600
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, target)
    except BaseException:
        os.unlink(tmp)
        raise


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows (parameters must be finite)")


def load(path: str | os.PathLike[str]) -> MLP:
    """Read a model written by `save`: the architecture and parameters, checked first."""
    where = f"load {os.fspath(path)!r}"
    try:
        text = Path(path).read_text(encoding="utf-8")
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
