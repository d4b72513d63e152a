"""numerical_gradient: the central difference the book uses to check backprop."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from glassnet.gradcheck import numerical_gradient


def test_quadratic():
    x = np.array([3.0, 4.0])
    np.testing.assert_allclose(numerical_gradient(lambda v: np.sum(v**2), x), [6.0, 8.0],
                               rtol=1e-10)


def test_matrix_shape_and_values():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(3, 4))
    x = rng.normal(size=(3, 4))
    grad = numerical_gradient(lambda v: np.sum(a * np.sin(v)), x)
    assert grad.shape == x.shape
    np.testing.assert_allclose(grad, a * np.cos(x), rtol=1e-7, atol=1e-10)


def test_error_shrinks_as_h_squared():
    x = np.array([0.7])
    exact = np.exp(0.7)
    errors = [abs(numerical_gradient(lambda v: np.exp(v).sum(), x, h=h)[0] - exact)
              for h in (1e-2, 1e-3)]
    assert errors[0] / errors[1] == pytest.approx(100, rel=0.05)


def test_x_is_left_exactly_unchanged():
    x = np.array([0.1, 1e-17, 3.0000000000000004, -7.5e8])
    before = x.copy()
    numerical_gradient(lambda v: np.sum(v**3), x)
    np.testing.assert_array_equal(x, before)  # bit for bit, though x + h - h != x here


def test_book_idiom_where_f_ignores_its_argument():
    # the book: numerical_gradient(lambda W: net.loss(x, t), net.W) reads W through net
    class Net:
        def __init__(self):
            self.W = np.array([[0.5, -0.2], [0.1, 0.3]])

        def loss(self, x):
            return float(np.sum((x @ self.W) ** 2))

    net = Net()
    x = np.array([1.0, 2.0])
    grad = numerical_gradient(lambda _: net.loss(x), net.W)
    analytic = 2 * np.outer(x, x @ net.W)
    np.testing.assert_allclose(grad, analytic, rtol=1e-8)


def test_lists_and_integers_are_copied_to_float64():
    values = [1, 2, 3]
    grad = numerical_gradient(lambda v: np.sum(v**2), values)
    assert grad.dtype == np.float64
    np.testing.assert_allclose(grad, [2, 4, 6], rtol=1e-9)
    assert values == [1, 2, 3]
    frozen = np.array([1.0, 2.0])
    frozen.flags.writeable = False
    np.testing.assert_allclose(numerical_gradient(lambda v: np.sum(v**2), frozen), [2, 4])


def test_bad_arguments():
    with pytest.raises(ValueError, match="one number"):
        numerical_gradient(lambda v: v * 2, np.array([1.0, 2.0]))
    with pytest.raises(ValueError, match="positive"):
        numerical_gradient(np.sum, np.array([1.0]), h=0)
    with pytest.raises(TypeError, match="function"):
        numerical_gradient(3, np.array([1.0]))
    with pytest.raises(TypeError, match="received str"):
        numerical_gradient(np.sum, "abc")


@settings(max_examples=50, deadline=None)
@given(x=hnp.arrays(np.float64, hnp.array_shapes(max_dims=2, max_side=4),
                    elements=st.floats(-3, 3)))
def test_linear_functions_exactly(x):
    w = np.arange(x.size, dtype=float).reshape(x.shape) - 1.5
    np.testing.assert_allclose(numerical_gradient(lambda v: np.sum(w * v), x), w, atol=1e-9)
