"""autodiff.checks: the boundary checks every package shares, and their one message form."""

from __future__ import annotations

import numpy as np
import pytest

from autodiff import checks


class BrokenRepr:
    def __repr__(self) -> str:
        raise RuntimeError("no repr")


@pytest.mark.parametrize(
    ("x", "text"),
    [
        (10**5000, "an int of about 5000 digits"),
        (-(10**5000), "a negative int of about 5000 digits"),
        (list(range(10**6)), "[0, 1, 2, 3, ...]"),
        ("abc", "'abc'"),
        (1.5, "1.5"),
    ],
    ids=["huge-int", "huge-negative-int", "huge-list", "str", "float"],
)
def test_shown_never_fails_and_stays_short(x, text):
    assert checks.shown(x) == text
    assert len(checks.shown(x)) <= 40


def test_shown_describes_an_object_whose_repr_raises():
    assert checks.shown(BrokenRepr()).startswith("<BrokenRepr instance")


def test_number_refuses_a_huge_int_with_a_message_it_can_print():
    with pytest.raises(ValueError, match=r"^w must be a finite number \(got an int of about"):
        checks.number(10**5000, "w")


@pytest.mark.parametrize(
    ("X", "fragment"),
    [
        (np.ones((2, 2)) + 1j, "(got an array of complex128)"),
        (np.ma.masked_array(np.ones((2, 2))), "(got a masked array"),
        (np.array([["2020-01-01"]], dtype="datetime64[D]"), "(got an array of datetime64[D])"),
        ([["1.0", "2"]], "(got an array of strings); convert on purpose with .astype(float)"),
        (np.ones((2, 2), dtype=bool), "(got an array of bool)"),
        ([[1.0, None]], "(got NoneType None among them)"),
        ([[1.0], [2.0, 3.0]], "must be an array of real numbers ("),
    ],
    ids=["complex", "masked", "datetime", "strings", "bool", "none", "ragged"],
)
def test_real_array_refuses_what_it_would_have_to_coerce(X, fragment):
    with pytest.raises(TypeError) as error:
        checks.real_array(X, "f: X", ndim=2)
    assert str(error.value).startswith("f: X must be an array of real numbers")
    assert fragment in str(error.value)


def test_real_array_takes_ints_floats_and_number_objects_as_floats():
    from fractions import Fraction

    for X in ([[1, 2]], np.array([[1, 2]], dtype=np.uint8), [[Fraction(1), 2.0]]):
        out = checks.real_array(X, "X", ndim=2)
        assert out.dtype == np.float64
        np.testing.assert_array_equal(out, [[1.0, 2.0]])


@pytest.mark.parametrize(
    ("X", "error", "fragment"),
    [
        ([[1.0, np.nan]], ValueError, "X must be finite (got nan at (0, 1))"),
        ([[1.0, 2**2000]], ValueError, "X must be finite (got an int beyond the float range)"),
        (np.array([[np.inf]]), ValueError, "X must be finite (got inf at (0, 0))"),
        ([1.0, 2.0], ValueError, "X must be a 2-d array (got shape (2,))"),
    ],
)
def test_real_array_refuses_non_finite_numbers_and_wrong_shapes(X, error, fragment):
    with pytest.raises(error) as raised:
        checks.real_array(X, "X", ndim=2)
    assert fragment in str(raised.value)


@pytest.mark.parametrize("seed", [0, 7, np.int64(3), None, np.random.default_rng(1)])
def test_seed_takes_what_numpy_default_rng_is_given_here(seed):
    assert checks.seed(seed, "s") is seed or checks.seed(seed, "s") == seed


@pytest.mark.parametrize("seed", [-1, 1.5, "1", True, [1, 2]])
def test_seed_refuses_anything_else_saying_what_a_seed_is(seed):
    with pytest.raises(
        ValueError, match=r"^s must be an int >= 0, a numpy Generator or None \(got"
    ):
        checks.seed(seed, "s")


@pytest.mark.parametrize(
    "items", [[1.0, 2.5], [1, 2.5], np.array([1.0, 2.5]), (np.float32(1.0), 2.5)]
)
def test_vector_gives_python_floats_on_every_path(items):
    out = checks.vector(items, 2, "v")
    assert out == [1.0, 2.5] and all(type(x) is float for x in out)


@pytest.mark.parametrize("bad", [[1.0, float("inf")], [1.0, float("nan")], [1.0, True]])
def test_vector_refuses_what_the_quick_path_must_not_let_through(bad):
    with pytest.raises(ValueError, match=r"^v\[1\] must be a"):
        checks.vector(bad, 2, "v")


@pytest.mark.parametrize(
    ("n", "bounds", "expected"),
    [
        (True, {}, "x must be an int (got bool True)"),
        (2.0, {}, "x must be an int (got float 2.0)"),
        (-1, {"lo": 0}, "x must be an int >= 0 (got -1)"),
        (11, {"hi": 10}, "x must be an int <= 10 (got 11)"),
        (11, {"lo": 0, "hi": 10}, "x must be an int from 0 to 10 (got 11)"),
    ],
)
def test_integer_refuses_what_is_not_a_whole_number_in_range(n, bounds, expected):
    with pytest.raises(ValueError) as error:
        checks.integer(n, "x", **bounds)
    assert str(error.value) == expected


def test_integer_takes_the_ends_of_its_range_and_numpy_ints():
    assert checks.integer(0, "x", lo=0, hi=10) == 0
    assert checks.integer(np.int64(10), "x", lo=0, hi=10) == 10
    assert type(checks.integer(np.int64(3), "x")) is int
