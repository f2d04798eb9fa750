"""micrograd's `nonlin=` flag is refused with the argument to write here and where to read more."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import nn

README = Path(__file__).resolve().parents[2] / "README.md"


def section_named_in(message: str) -> str:
    """The README section an error message sends the reader to; it must exist as a heading."""
    name = re.search(r"see '([^']+)' in the README", message).group(1)
    headings = [line.lstrip("#").strip() for line in README.read_text("utf-8").splitlines()]
    assert name in headings, f"the README has no section {name!r}"
    return name


@pytest.mark.parametrize(
    "build",
    [
        lambda: nn.Neuron(3, nonlin=True),
        lambda: nn.Neuron(3, nonlin=False),
        lambda: nn.Layer(3, 2, nonlin=True),
        lambda: nn.Layer(3, 2, nonlin=False),
        lambda: nn.Neuron(3, False),  # micrograd's Neuron(nin, nonlin) with nonlin by position
        lambda: nn.Layer(3, 2, True),
    ],
    ids=["neuron-true", "neuron-false", "layer-true", "layer-false", "neuron-bool", "layer-bool"],
)
def test_micrograd_nonlin_is_refused_with_the_activation_to_use(build):
    with pytest.raises(TypeError, match=r"activation='relu' for micrograd's nonlin=True") as error:
        build()
    message = str(error.value)
    assert "'linear' for nonlin=False" in message
    assert re.search(r"\(got (nonlin|activation)=(True|False)\)", message)
    assert section_named_in(message) == "Coming from micrograd"


def test_activation_names_still_build_neurons_and_layers():
    assert nn.Neuron(3, activation="tanh", seed=0).activation == "tanh"
    assert nn.Layer(3, 2, "linear", seed=0).activation == "linear"
