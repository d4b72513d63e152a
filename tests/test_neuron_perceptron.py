"""One node and the perceptron gates."""

import itertools

import numpy as np
import pytest

import glassnet as gn
from glassnet import perceptron


def test_weighted_sum_and_output_for_one_sample_and_a_batch():
    node = gn.Neuron([0.5, -1.0], bias=0.1, activation="relu")
    assert node.z([1.0, 2.0]) == pytest.approx(-1.4)
    assert node([1.0, 2.0]) == 0.0
    batch = np.array([[1.0, 2.0], [3.0, 1.0], [0.0, -1.0]])
    np.testing.assert_allclose(node.z(batch), [-1.4, 0.6, 1.1])
    np.testing.assert_allclose(node(batch), [0.0, 0.6, 1.1])
    assert node(batch).shape == (3,)


def test_lesson_node_by_hand():
    # the course: z = x1*w1 + x2*w2 + b, a = max(0, z)
    x1, x2, w1, w2, b = 0.7, -0.3, 1.2, 0.4, -0.1
    node = gn.Neuron([w1, w2], b)
    assert float(node([x1, x2])) == pytest.approx(max(0, x1 * w1 + x2 * w2 + b), rel=1e-15)


def test_explain_shows_the_arithmetic():
    node = gn.Neuron([0.5, -1.0], bias=0.1, activation="relu")
    assert node.explain([1.0, 2.0]) == ("z = 1.0*0.5 + 2.0*-1.0 + 0.1 = -1.4\n"
                                        "a = relu(-1.4) = 0.0")
    sig = gn.Neuron([2.0], bias=0.0, activation="sigmoid")
    assert sig.explain([0.0]) == "z = 0.0*2.0 + 0.0 = 0.0\na = sigmoid(0.0) = 0.5"
    two = node.explain([[1.0, 2.0], [3.0, 1.0]]).split("\n\n")
    assert len(two) == 2 and two[1].endswith("a = relu(0.6) = 0.6")


def test_float32_node_stays_float32():
    node = gn.Neuron(np.array([0.5, 0.5], dtype=np.float32), 0.1)
    assert node(np.ones((4, 2), dtype=np.float32)).dtype == np.float32


def test_activation_can_be_a_function():
    node = gn.Neuron([1.0, 1.0], 0.0, activation=np.tanh)
    assert float(node([0.5, 0.5])) == pytest.approx(np.tanh(1.0))
    assert node.activation.name == "tanh"


def test_wrong_input_length_says_how_many():
    node = gn.Neuron([0.5, -1.0], 0.1)
    with pytest.raises(ValueError, match=r"expects 2 inputs.*received 3"):
        node([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match=r"expects 2 inputs.*received 1"):
        node(np.ones((5, 1)))
    with pytest.raises(ValueError, match="expects 2 inputs"):
        node.explain(1.0)


def test_bad_construction():
    with pytest.raises(ValueError, match="non-empty 1-D"):
        gn.Neuron([[1.0, 2.0]], 0.0)
    with pytest.raises(ValueError, match="one number"):
        gn.Neuron([1.0, 2.0], [0.1, 0.2])
    with pytest.raises(ValueError, match="Valid names"):
        gn.Neuron([1.0], 0.0, activation="sigmoidd")
    with pytest.raises(TypeError, match="received str"):
        gn.Neuron([1.0, 2.0], 0.0)("ab")


TRUTH = {
    "AND": [0, 0, 0, 1],
    "NAND": [1, 1, 1, 0],
    "OR": [0, 1, 1, 1],
    "XOR": [0, 1, 1, 0],
}
INPUTS = [(0, 0), (1, 0), (0, 1), (1, 1)]


@pytest.mark.parametrize("gate", sorted(TRUTH))
def test_truth_tables(gate):
    function = getattr(perceptron, gate)
    assert [function(a, b) for a, b in INPUTS] == TRUTH[gate]
    assert all(type(function(a, b)) is int for a, b in INPUTS)
    assert perceptron.truth_table(function) == [(a, b, o) for (a, b), o in
                                                zip(INPUTS, TRUTH[gate])]
    x1, x2 = np.array(INPUTS).T
    np.testing.assert_array_equal(function(x1, x2), TRUTH[gate])


def test_no_single_perceptron_makes_xor_but_one_makes_and():
    # search weights and biases on a grid: AND is found, XOR never is
    values = np.linspace(-1, 1, 21)
    x = np.array(INPUTS, dtype=float)
    w = np.array(list(itertools.product(values, values)))            # (441, 2)
    z = x @ w.T                                                      # (4, 441)
    fires = (z[:, :, None] + values[None, None, :]) > 0               # (4, 441, 21)
    outputs = fires.reshape(4, -1).T.astype(int)
    assert (outputs == TRUTH["AND"]).all(axis=1).any()
    assert not (outputs == TRUTH["XOR"]).all(axis=1).any()


def test_gates_are_inspectable_nodes():
    assert perceptron.GATES["AND"].explain([1, 1]).endswith("a = step(0.3) = 1.0")


def test_gate_input_shapes_must_match():
    with pytest.raises(ValueError, match="same shape"):
        perceptron.AND(np.ones(3), np.ones(2))
    with pytest.raises(TypeError):
        perceptron.OR("1", 0)
