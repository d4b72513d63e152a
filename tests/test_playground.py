"""The playground (issue 14, first part): TensorFlow Playground's data and
training rule, the frames, the server's protocol, and the page in a real
headless Chromium."""

import contextlib
import json
import os
import pathlib
import shutil
import socket
import struct
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from glassnet.playground import code, data, session

S = session


# ------------------------------------------------------------------ data
def test_datasets_follow_tensorflow_playground():
    for name in data.DATASETS:
        points, labels = data.generate(name, 0.0, 3)
        assert points.dtype == np.float32 and points.shape[1] == 2
        assert np.abs(points).max() <= 6
        assert len(points) == (1200 if name in data.REGRESSION else 500 if name != "spiral-3"
                               else 498)
        again = data.generate(name, 0.0, 3)
        assert np.array_equal(points, again[0]) and np.array_equal(labels, again[1])
    points, labels = data.generate("circle", 0.0, 0)
    radius = np.hypot(points[:, 0], points[:, 1])
    assert np.array_equal(labels == 1, radius < 2.5) and (labels == 1).sum() == 250
    assert radius[labels == -1].min() >= 3.5                 # the gap between 2.5 and 3.5
    points, labels = data.generate("xor", 0.0, 0)
    assert np.array_equal(labels == 1, points[:, 0] * points[:, 1] >= 0)
    assert np.abs(points).min() >= 0.3                         # the padding off the axes
    points, labels = data.generate("reg-plane", 0.0, 0)
    np.testing.assert_allclose(labels, points.sum(1) / 10, atol=1e-6)
    _, labels = data.generate("blobs-5", 0.0, 0)
    assert sorted(set(labels.tolist())) == [0, 1, 2, 3, 4]
    noisy = data.generate("circle", 0.5, 0)[1]
    assert 0 < (noisy != data.generate("circle", 0.0, 0)[1]).sum() < 250
    x = data.features(np.array([[2.0, -3.0]], np.float32), list(data.FEATURES))
    np.testing.assert_allclose(x[0], [2, -3, 4, 9, -6, np.sin(2), np.sin(-3)], rtol=1e-6)
    with pytest.raises(ValueError, match="unknown dataset 'ring'.*circle, xor"):
        data.generate("ring")
    with pytest.raises(ValueError, match="noise must be in"):
        data.generate("circle", 0.9)


def test_settings_are_checked_by_name_with_the_valid_choices():
    bad = [("learningRate", 0.5, "learningRate must be one of 1e-05, 0.0001"),
           ("activation", "swish2", "activation must be one of tanh, relu"),
           ("hidden", [4] * 9, "up to 8 layer sizes"), ("hidden", [17], "from 1 to 16"),
           ("hidden", "4,2", "list of up to 8"), ("features", [], "non-empty list"),
           ("features", ["x3"], "x1, x2, x1\\^2"), ("batchSize", 0, "from 1 to 30"),
           ("noise", 55, "from 0 to 50"), ("trainRatio", 5, "from 10 to 90"),
           ("regularization", "l3", "none, l1, l2"), ("optimizer", "rmsprop", "sgd, momentum"),
           ("seed", -1, "seed must be an integer"), ("batchSize", True, "integer"),
           ("colour", 1, "unknown setting 'colour'")]
    for name, value, message in bad:
        with pytest.raises(ValueError, match=message):
            S.validate(name, value)
    with pytest.raises(ValueError, match="has 3 classes: use 'cross-entropy'"):
        S.validate("loss", "square", dict(S.DEFAULTS, dataset="blobs-3"))
    assert S.validate("learningRate", 0.030000000000000002) == 0.03
    assert S.validate("features", ["x2", "x1"]) == ["x1", "x2"]
    assert S.check_config({"dataset": "blobs-4"})["loss"] == "cross-entropy"
    with pytest.raises(ValueError, match=r"unknown settings \['speed'\]"):
        S.check_config({"speed": 2})


# ------------------------------------------------------------------ training
def _playground_epoch(weights, x, t, eta, batch, rate=0.0, kind="none"):
    """TensorFlow Playground's oneStep, written out in NumPy (nn.ts): per point
    forward and backward of ½(o - t)² through tanh layers, the error
    derivatives added up; every `batch` points w -= η · Σ / n, then the
    regularization step w -= η · rate · R'(w) on the weights (not biases)."""
    acc = [[np.zeros_like(w), np.zeros_like(b)] for w, b in weights]
    dead_links = {}
    count = 0
    for i in range(len(x)):
        acts = [x[i]]
        for w, b in weights:
            acts.append(np.tanh(acts[-1] @ w + b))
        delta = (acts[-1] - t[i]) * (1 - acts[-1] ** 2)
        for layer in range(len(weights) - 1, -1, -1):
            acc[layer][0] += np.outer(acts[layer], delta)
            acc[layer][1] += delta
            delta = (weights[layer][0] @ delta) * (1 - acts[layer] ** 2)
        count += 1
        if (i + 1) % batch == 0 or i == len(x) - 1:
            for (w, b), (gw, gb) in zip(weights, acc):
                slope = w.copy() if kind == "l2" else np.sign(w)   # R'(w) before the step
                w -= eta * gw / count
                b -= eta * gb / count
                if kind != "none":
                    new = w - eta * rate * slope
                    if kind == "l1":     # a weight L1 pushes across 0 dies: 0 from then on
                        dead = dead_links.setdefault(id(w), np.zeros(w.shape, bool))
                        dead |= new * w < 0
                        new[dead] = 0
                    w[:] = new
                gw[:] = 0
                gb[:] = 0
            count = 0
    return weights


@pytest.mark.parametrize("regularization", [("none", 0), ("l2", 0.03), ("l1", 0.01)])
def test_one_epoch_is_tensorflow_playgrounds_step(regularization):
    kind, rate = regularization
    s = S.Session({"hidden": [3], "batchSize": 10, "learningRate": 0.3, "regularization": kind,
                   "regularizationRate": rate})
    weights = [(layer.kernel.numpy().astype(np.float64), layer.bias.numpy().astype(np.float64))
               for layer in s.model.layers]
    expected = _playground_epoch(weights, s.x[:s.split].astype(np.float64),
                                 s.y[:s.split].astype(np.float64), 0.3, 10, rate, kind)
    s.step()
    if kind == "l1":  # the case is there: some weights died in this epoch
        assert any(d.any() for d in s._l1.dead)
        assert all((layer.kernel.numpy()[d] == 0).all() for layer, d in
                   zip(s.model.layers, s._l1.dead))
    for layer, (w, b) in zip(s.model.layers, expected):
        np.testing.assert_allclose(layer.kernel.numpy(), w, atol=2e-5)
        np.testing.assert_allclose(layer.bias.numpy(), b, atol=2e-5)
    assert s.epoch == 1 and len(s.history) == 2


def test_circle_learns_and_a_frame_holds_what_the_page_draws():
    s = S.Session()
    first = s.history[-1][2]
    for _ in range(100):
        s.step()
    assert s.history[-1][2] < 0.05 < first and s.accuracy()[1] > 0.97
    frame = s.frame()
    length = struct.unpack("<I", frame[:4])[0]
    header = json.loads(frame[4:4 + length])
    assert header["epoch"] == 100 and header["shape"] == [2, 4, 2, 1]
    assert header["testLoss"] == pytest.approx(s.history[-1][2])
    maps = 100 * 100 + (2 + 4 + 2) * 16 * 16
    offset = 4 + length
    output = np.frombuffer(frame, np.uint8, 100 * 100, offset)
    inside, outside = output.reshape(100, 100)[50, 50], output.reshape(100, 100)[2, 2]
    assert inside > 200 and outside < 60                # blue inside the circle, orange outside
    offset += maps + (-(offset + maps) % 4)
    kernel = np.frombuffer(frame, "<f4", 8, offset).reshape(2, 4)
    np.testing.assert_array_equal(kernel, s.model.layers[0].kernel.numpy())
    assert len(frame) == offset + 4 * sum(w.size for l in s.model.layers
                                          for w in (l.kernel.numpy(), l.bias.numpy()))
    big = S.Session({"hidden": [16] * 8, "features": list(data.FEATURES),
                     "dataset": "blobs-5"})
    assert len(big.frame()) <= 64 * 1024
    big.step()
    big._stopped("nan")                # the largest frame: the most of everything, and advice
    assert 60 * 1024 < len(big.frame()) <= 64 * 1024


def test_per_layer_activations_and_the_trained_model_as_a_file(tmp_path):
    s = S.Session({"hidden": [3, 2], "activations": ["relu", "elu"]})
    assert [l.activation.name for l in s.model.layers] == ["relu", "elu", "tanh"]
    s.set("hidden", [3, 2, 4])                          # a new layer takes the common one
    assert s.config["activations"] == ["relu", "elu", "tanh"]
    s.set("activation", "sigmoid")                      # one for all, as TensorFlow Playground
    assert s.config["activations"] is None
    assert [l.activation.name for l in s.model.layers] == ["sigmoid"] * 3 + ["tanh"]
    with pytest.raises(ValueError, match="activations must be a list of 3 names"):
        s.set("activations", ["relu"])
    with pytest.raises(ValueError, match="activations: each layer's must be one of"):
        s.set("activations", ["relu", "relu", "nope"])
    code_text = code.export_code(S.check_config({"hidden": [3, 2],
                                                 "activations": ["relu", "elu"]}))
    assert "Dense(3, activation='relu'" in code_text and "Dense(2, activation='elu'" in code_text
    import glassnet as gn

    s.step()
    for kind in ("keras", "safetensors"):
        path = tmp_path / f"net.{kind}"
        path.write_bytes(s.model_file(kind))
        model = gn.load_model(str(path))
        np.testing.assert_allclose(model.predict(s.x[:9], verbose=0),
                                   s.model.predict(s.x[:9], verbose=0), atol=1e-6)
    assert gn.load_model(str(path)).metadata["playground"]["hidden"] == [3, 2, 4]
    with pytest.raises(ValueError, match="format must be keras or safetensors"):
        s.model_file("pickle")


def test_an_uploaded_csv_becomes_the_data_with_its_bad_rows_reported(tmp_path):
    rng = np.random.default_rng(1)
    points = rng.uniform(-12, 12, (300, 2))
    labels = (np.hypot(*points.T) < 6).astype(int)            # 0 / 1: two classes
    rows = "\n".join(f"{a:.4f};{b:.4f};{c}" for (a, b), c in zip(points, labels))
    text = "x1;x2;label\n" + rows + "\n1,2\nfoo,bar,baz\n\n# a comment\n"
    s = S.Session()
    report = s.upload(text)
    assert report.startswith("Read 300 points (2 classes); skipped 2 bad rows: line 302: "
                             "expected 3 numbers (x1, x2, label), got '1,2'; line 303")
    assert "points scaled by 0.5" in report
    assert s.config["dataset"] == "upload" and s.classes == 2 and len(s.x) == 300
    assert set(np.unique(s.labels)) == {-1.0, 1.0} and np.abs(s.points).max() <= 6
    for _ in range(30):
        s.step()
    assert s.accuracy()[1] > 0.6
    s.set("features", ["x1", "x2", "x1^2", "x2^2"])        # the upload stays the data
    assert s.config["dataset"] == "upload" and len(s.x) == 300
    source = code.export_code(s.config, epochs=30, uploaded=s.uploaded)
    path = tmp_path / "upload.py"
    path.write_text(source)
    result = subprocess.run([sys.executable, str(path)], capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stderr
    three = "\n".join(f"{x},{y},{k}" for k, (x, y) in enumerate(rng.uniform(-5, 5, (30, 2)))
                      for k in [k % 3])
    assert "(3 classes)" in S.Session().upload(three)
    assert "(regression)" in S.Session().upload(three.replace(",2\n", ",2.5\n"))
    for bad, message in [("1,2,3\n" * 5, "5 good rows; at least 10"),
                         ("9,9,9\n" * 2100, "more than 2,000 points"),
                         ("1,1,1\n" * 20000, "at most 60 KB"), (b"x", "must be text")]:
        with pytest.raises(ValueError, match=message):
            S.Session().upload(bad)
    with pytest.raises(ValueError, match="dataset must be one of circle"):
        S.Session().set("dataset", "upload")                 # nothing uploaded yet


def test_dropout_batch_norm_and_schedules_train_and_export_alike(tmp_path):
    config = S.check_config({"hidden": [4, 3], "batchNorm": True, "dropout": 0.2,
                             "schedule": "cosine", "optimizer": "adam"})
    s = S.Session(config)
    assert [type(l).__name__ for l in s.model.layers] == [
        "Dense", "BatchNormalization", "Activation", "Dropout"] * 2 + ["Dense"]
    for _ in range(20):
        s.step()
    steps = 20 * -(-s.split // 10)
    rate = 0.03 / 2 * 0.5 * (1 + np.cos(np.pi * steps / (25 * S.COSINE_EPOCHS)))  # η/2: square
    assert s.model.optimizer.current_learning_rate() == pytest.approx(rate, rel=1e-5)
    frame = s.frame()
    header = json.loads(frame[4:4 + struct.unpack("<I", frame[:4])[0]])
    assert header["shape"] == [2, 4, 3, 1] and len(header["gradients"]) == 3
    assert [a.shape[1] for a in s._activations(s.x[:5])] == [2, 4, 3, 1]
    path = tmp_path / "bn.py"
    path.write_text(code.export_code(config, epochs=20))
    result = subprocess.run([sys.executable, str(path)], capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stderr
    assert float(result.stdout.split("test loss")[1]) == pytest.approx(s.history[-1][2], rel=1e-4)
    decay = S.Session({"schedule": "exponential"})
    for _ in range(3):
        decay.step()
    assert decay.model.optimizer.current_learning_rate() == pytest.approx(0.015 * 0.98 ** 3)
    for name, value, message in [("dropout", 0.4, "dropout must be one of 0, 0.1"),
                                 ("batchNorm", 1, "batchNorm must be true or false"),
                                 ("schedule", "step", "schedule must be one of constant")]:
        with pytest.raises(ValueError, match=message):
            S.validate(name, value)


def test_nan_stops_with_advice_and_weights_can_be_edited():
    s = S.Session({"hidden": [8, 8, 8], "activation": "relu", "learningRate": 10,
                   "dataset": "reg-plane"})
    for _ in range(20):
        s.step()
        if s.message:
            break
    assert s.message and "Lower the learning rate (it is 10)" in s.message
    assert not s.running
    epoch = s.epoch
    s.step()                                            # stopped: no more epochs
    assert s.epoch == epoch
    s.reset()
    assert s.message is None and s.epoch == 0
    before = s.model.predict(s.x[:3], verbose=0)
    s.edit_weight(0, 0, 0, 5.0)
    assert s.model.layers[0].kernel.numpy()[0, 0] == 5.0
    assert not np.allclose(before, s.model.predict(s.x[:3], verbose=0))
    s.edit_weight(1, None, 2, -1.5)
    assert s.model.layers[1].bias.numpy()[2] == -1.5
    for args, message in [((0, 9, 0, 1.0), "no weight at"), ((7, 0, 0, 1.0), "layer must be"),
                          ((0, 0, 0, float("nan")), "finite number")]:
        with pytest.raises(ValueError, match=message):
            s.edit_weight(*args)


def test_exported_code_trains_the_same_network(tmp_path):
    config = S.check_config({"dataset": "xor", "features": ["x1", "x2", "x1x2"],
                             "hidden": [3], "regularization": "l2", "regularizationRate": 0.001,
                             "batchSize": 5})
    s = S.Session(config)
    for _ in range(code.EPOCHS):
        s.step()
    path = tmp_path / "net.py"
    path.write_text(code.export_code(config))
    result = subprocess.run([sys.executable, str(path)], capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stderr
    loss = float(result.stdout.split("test loss")[1])
    assert loss == pytest.approx(s.history[-1][2], rel=1e-4)
    l1 = S.check_config({"hidden": [3], "regularization": "l1", "regularizationRate": 0.01,
                         "learningRate": 0.3})
    s = S.Session(l1)
    for _ in range(10):
        s.step()
    path.write_text(code.export_code(l1, epochs=10))
    result = subprocess.run([sys.executable, str(path)], capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stderr
    assert float(result.stdout.split("test loss")[1]) == pytest.approx(s.history[-1][2], rel=1e-4)
    multi = S.check_config({"dataset": "blobs-3", "optimizer": "adam"})
    path.write_text(code.export_code(multi))
    result = subprocess.run([sys.executable, str(path)], capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0 and float(result.stdout.split("test accuracy")[1]) > 0.9


# ------------------------------------------------------------------ the server
starlette = pytest.importorskip("starlette")


OWN_WS = "ws://127.0.0.1:8765/ws"  # TestClient sends this Host; the server checks it


def _receive_until(ws, kind):
    for _ in range(20):
        message = ws.receive()
        if "bytes" in message and message["bytes"] is not None:
            if kind == "frame":
                return message["bytes"]
            continue
        payload = json.loads(message["text"])
        if payload["type"] == kind:
            return payload
    raise AssertionError(f"no {kind} message")


def _epoch(frame):
    length = struct.unpack("<I", frame[:4])[0]
    return json.loads(frame[4:4 + length])["epoch"]


def test_protocol_answers_every_message_and_survives_bad_ones():
    import base64

    from starlette.testclient import TestClient

    from glassnet.playground.server import create_app

    client = TestClient(create_app(), base_url="http://127.0.0.1:8765")
    assert client.get("/").status_code == 200
    assert client.get("/static/playground.js").status_code == 200
    for path in ("/static/../server.py", "/static/%2e%2e/server.py", "/static/..%2fsession.py"):
        assert client.get(path).status_code == 404
    with client.websocket_connect(OWN_WS) as ws:
        options = _receive_until(ws, "options")
        assert options["learningRates"][5] == 0.03 and len(options["thumbnails"]) == 11
        x1x2 = np.frombuffer(base64.b64decode(options["featureMaps"][4]), np.uint8)
        assert x1x2.shape == (256,) and x1x2[0] == 0 and x1x2[15] == 255   # -36 and +36
        assert len(_receive_until(ws, "data")["train"]) == 250
        assert _epoch(_receive_until(ws, "frame")) == 0
        for bad in ("not json", "[1, 2]", json.dumps({"type": 3}), "x" * 70000):
            ws.send_text(bad)
            assert _receive_until(ws, "error")["message"]
        ws.send_bytes(b"\x00\x01")
        assert "JSON text" in _receive_until(ws, "error")["message"]
        ws.send_text(json.dumps({"id": 1, "type": "set", "name": "noise", "value": 99}))
        ack = _receive_until(ws, "ack")
        assert ack == {"type": "ack", "id": 1, "ok": False,
                       "error": "noise must be an integer from 0 to 50; received 99",
                       "errorKo": "노이즈: 0부터 50까지의 정수여야 합니다 (받은 값: 99)"}
        ws.send_text(json.dumps({"id": 2, "type": "fly"}))
        assert "unknown message type 'fly'" in _receive_until(ws, "ack")["error"]
        ws.send_text(json.dumps({"id": 3, "type": "set", "name": "dataset", "value": "spiral"}))
        assert _receive_until(ws, "data")["classes"] == 2
        ack = _receive_until(ws, "ack")
        assert ack["ok"] and ack["config"]["dataset"] == "spiral"
        assert "data.generate('spiral'" in ack["code"]
        _receive_until(ws, "frame")
        ws.send_text(json.dumps({"id": 4, "type": "step"}))
        _receive_until(ws, "ack")
        assert _epoch(_receive_until(ws, "frame")) == 1
        ws.send_text(json.dumps({"id": 5, "type": "play"}))
        assert _receive_until(ws, "ack")["running"] is True
        _receive_until(ws, "frame")
        started = time.perf_counter()
        for expected in range(2, 32):
            ws.send_text(json.dumps({"type": "frame"}))
            assert _epoch(_receive_until(ws, "frame")) == expected
        assert time.perf_counter() - started >= 29 / 60      # at most 60 frames a second
        ws.send_text(json.dumps({"id": 6, "type": "download", "format": "safetensors"}))
        file = _receive_until(ws, "file")

        assert file["id"] == 6 and file["name"] == "playground.safetensors"
        assert len(base64.b64decode(file["data"])) > 1000
        ws.send_text(json.dumps({"id": 7, "type": "download", "format": "exe"}))
        assert "format must be keras or safetensors" in _receive_until(ws, "ack")["error"]
        ws.send_text(json.dumps({"type": "config", "config": [1]}))
        assert not _receive_until(ws, "ack")["ok"]
        # a link with a bad value still opens, without it, and says what was left out
        ws.send_text(json.dumps({"type": "config", "config": {
            "hidden": "x", "dataset": "upload", "seed": 5, "colour": 1}}))
        ack = _receive_until(ws, "ack")
        assert ack["ok"] and ack["config"]["seed"] == 5 and ack["config"]["dataset"] == "circle"
        assert ack["config"]["hidden"] == [4, 2]
        assert ack["warning"].startswith("Part of this link was left out: unknown settings "
                                         "['colour']")
        assert "made with uploaded points" in ack["warning"]
        assert "hidden must be a list" in ack["warning"]


def test_full_server_says_so_and_idle_tabs_are_freed():
    from starlette.testclient import TestClient

    from glassnet.playground.server import create_app

    app = create_app(max_sessions=1, idle_seconds=0.5)
    client = TestClient(app, base_url="http://127.0.0.1:8765")
    with client.websocket_connect(OWN_WS) as first:
        _receive_until(first, "frame")
        assert len(app.state.sessions) == 1
        with client.websocket_connect(OWN_WS) as second:
            assert "server is full (1 tabs" in _receive_until(second, "full")["message"]
        time.sleep(0.8)                                  # idle: the server closes it
        assert first.receive()["type"] == "websocket.close"
    for _ in range(50):
        if not app.state.sessions:
            break
        time.sleep(0.02)
    assert app.state.sessions == set()


def test_capacity_pauses_the_newest_tab_when_the_others_fall_below_5_frames_a_second():
    import types

    from glassnet.playground import server

    tabs = set()
    capacity = server.Capacity(tabs)
    fast, slow, newest = (server.Tab(types.SimpleNamespace(running=True)) for _ in range(3))
    tabs.update((fast, slow, newest))
    for tab, started in ((fast, 0.0), (slow, 0.0), (newest, 5.0)):
        tab.play(started)
    paused = []
    for tick in range(200):                     # 10 s: fast gets 10 frames a second, slow 4
        now = tick / 20
        if tick % 2 == 0:
            fast.served.append(now)
        if tick % 5 == 0:
            slow.served.append(now)
            if newest.session.running and now >= 5:
                newest.served.append(now)
        if capacity.check(now) is not None:
            paused.append((now, newest.session.running))
    assert fast.rate(10.0) == pytest.approx(10, rel=0.05) and slow.rate(10.0) < 5
    assert paused == [(6.0, False)]        # slow settled at 3 s, stayed slow 3 s more
    # slow has played > 3 s at < 5 frames/s since 3 s, for > 2 s: the newest was paused
    assert newest.session.running is False and fast.session.running and slow.session.running
    assert capacity.limit == 2 and "full: 2 networks are training" in newest.notice
    assert capacity.refusal() is not None            # 2 play: a third may not
    slow.session.running = False
    assert capacity.refusal() is None                # 1 plays: one more may
    fast.session.running = False
    assert capacity.check(10.0 + server.RETRY_SECONDS + 1) is None and capacity.limit is None
    assert server.Tab(None).rate(1.0) == 0.0


def test_play_is_refused_with_a_message_when_the_server_is_full():
    from starlette.testclient import TestClient

    from glassnet.playground.server import create_app
    from glassnet.playground.words import Said

    app = create_app()
    client = TestClient(app, base_url="http://127.0.0.1:8765")
    with client.websocket_connect(OWN_WS) as first, client.websocket_connect(OWN_WS) as second:
        for ws in (first, second):
            _receive_until(ws, "frame")
        app.state.capacity.limit, app.state.capacity.shed_at = 1, time.monotonic() + 1e6
        first.send_text(json.dumps({"id": 1, "type": "play"}))
        assert _receive_until(first, "ack")["running"] is True
        second.send_text(json.dumps({"id": 1, "type": "play"}))
        ack = _receive_until(second, "ack")
        assert not ack["ok"] and ack["error"].startswith(
            "The playground server is full: 1 network is training at once")
        # the server tells a playing tab it was paused, on its next frame
        tab = next(t for t in app.state.sessions if t.session.running)
        tab.session.running = False
        tab.notice = Said("The playground server is full.", "플레이그라운드 서버가 꽉 찼습니다.")
        first.send_text(json.dumps({"type": "frame"}))
        assert _receive_until(first, "full") == {"type": "full", "running": False,
                                                 "message": "The playground server is full.",
                                                 "messageKo": "플레이그라운드 서버가 꽉 찼습니다."}
        assert _epoch(_receive_until(first, "frame")) == 0


def test_the_command_prints_its_url_first_serves_the_page_and_names_a_busy_port():
    pytest.importorskip("uvicorn")
    import urllib.request

    command = [sys.executable, "-m", "glassnet.cli", "playground", "--no-browser"]
    with subprocess.Popen(command + ["--port", "0"], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True) as server:
        try:
            url = server.stdout.readline().strip()
            assert url.startswith("http://127.0.0.1:") and url.endswith("/")
            with urllib.request.urlopen(url, timeout=300) as page:  # a hang guard, not a speed test
                assert b"<title>glassnet playground</title>" in page.read()
            busy = int(url.rsplit(":", 1)[1].rstrip("/"))
            result = subprocess.run(command + ["--port", str(busy)], capture_output=True,
                                    text=True, timeout=600)
            assert result.returncode == 1 and result.stdout == ""
            assert result.stderr.startswith(f"glassnet: error: could not listen on 127.0.0.1 "
                                            f"port {busy}: ")
            assert "--port N" in result.stderr
        finally:
            server.terminate()
    result = subprocess.run(command + ["--port", "99999"], capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 2 and "--port must be 0-65535; received 99999" in result.stderr
    with subprocess.Popen(command + ["--port", "0", "--host", "0.0.0.0"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as wide:
        try:
            assert wide.stderr.readline().startswith("warning: the playground listens on "
                                                     "0.0.0.0, not only on this machine")
            assert wide.stdout.readline().startswith("http://0.0.0.0:")
        finally:
            wide.terminate()


def test_show_embeds_a_running_playground_in_a_notebook():
    pytest.importorskip("uvicorn")
    pytest.importorskip("IPython")
    import urllib.request

    import glassnet.playground as playground

    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    frame = playground.show(port=port, height=700)
    assert frame.src == f"http://127.0.0.1:{port}/" and frame.height == 700
    assert f'src="http://127.0.0.1:{port}/"' in frame._repr_html_()
    for _ in range(100):                      # the server starts in a background thread
        try:
            with urllib.request.urlopen(frame.src, timeout=5) as page:
                assert b"<title>glassnet playground</title>" in page.read()
            break
        except OSError:
            time.sleep(0.05)
    else:
        raise AssertionError("show() did not start a server")
    servers = dict(playground._running)
    assert playground.show(port=port).src == frame.src and playground._running == servers  # once


# ------------------------------------------------------------------ the page, in Chromium
def _browser():
    """Playwright driving Debian's chromium; CI (GLASSNET_REQUIRE_DATA=1) fails
    without them instead of skipping."""
    required = os.environ.get("GLASSNET_REQUIRE_DATA") == "1"
    try:
        import playwright.sync_api as playwright
    except ImportError:
        if required:
            pytest.fail("playwright is not installed (pip install -e '.[test]')")
        pytest.skip("playwright is not installed")
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    if not os.path.exists(chromium):
        message = "Debian's chromium is not installed (apt-get install chromium)"
        if required:
            pytest.fail(message)
        pytest.skip(message)
    return playwright, chromium


@contextlib.contextmanager
def _serving(**options):
    """A playground server on a free loopback port, in a thread: (its URL, the
    uvicorn server, which stops when its ``should_exit`` is set)."""
    pytest.importorskip("uvicorn")
    import uvicorn

    from glassnet.playground.server import create_app

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(**options), log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    for _ in range(100):
        if server.started:
            break
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}/", server
    finally:
        server.should_exit = True
        thread.join(10)
        listener.close()


@pytest.fixture(scope="module")
def server_url():
    with _serving() as (url, _):
        yield url


@contextlib.contextmanager
def _page(url, width=1280, language=None, errors_allowed=()):
    """A page of the playground at ``url`` in Chromium, its network built; at
    the end, no errors in its console (but those matching ``errors_allowed``).
    ``language``: the one the reader chose on an earlier visit."""
    playwright, chromium = _browser()
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, headless=True)
        page = browser.new_page(viewport={"width": width, "height": 800})
        page.set_default_timeout(300_000)  # a hang guard: a loaded machine is slow, not broken
        errors = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        if language:
            page.add_init_script(
                f"localStorage.setItem('glassnet-playground-language', '{language}')")
        page.goto(url)
        page.wait_for_function("window.playground && playground.state().config")
        yield page
        browser.close()
    assert [e for e in errors if not any(a in e for a in errors_allowed)] == []


def test_the_page_trains_in_chromium(server_url, tmp_path):
    with _page(server_url + "#dataset=xor&hidden=5,3&learningRate=0.1&seed=7") as page:
        state = page.evaluate("playground.state()")
        assert state["config"]["dataset"] == "xor" and state["config"]["hidden"] == [5, 3]
        assert state["trainLoss"] is None and state["epoch"] == 0
        assert page.locator(".node:not(.feature):not(.output-node)").count() == 8
        # each control changes the network: a select, a feature toggle, a layer button
        page.select_option('[data-control="activation"]', "relu")
        page.wait_for_function("playground.state().config.activation === 'relu'")
        page.click('.node.feature[data-feature="x1x2"]')
        page.wait_for_function("playground.state().config.features.includes('x1x2')")
        page.click('[data-action="add-layer"]')
        page.wait_for_function("playground.state().config.hidden.length === 3")
        assert page.locator(".node:not(.feature):not(.output-node)").count() == 10
        # step is exactly one epoch; play trains and the loss falls
        assert page.evaluate("playground.step()")["epoch"] == 1
        first = page.evaluate("playground.state().testLoss")
        page.evaluate("playground.play()")
        page.wait_for_function("playground.state().epoch >= 60", timeout=600_000)
        page.evaluate("playground.pause()")
        trained = page.evaluate("playground.state()")
        assert trained["testLoss"] < first and trained["fps"] > 0
        # inside the network: each layer's gradient size, and the test confusion matrix
        assert page.locator(".grad[data-layer]").count() == 4
        assert page.locator(".grad[data-layer='0']").inner_text().startswith("∇ ")
        cells = [int(c) for c in page.locator("#confusion td").all_inner_texts()]
        assert len(cells) == 4 and sum(cells) == 250
        # the URL holds every setting: a new tab from it has the same network
        url = page.url
        again = page.context.browser.new_page()
        again.set_default_timeout(300_000)
        again.goto(url)
        again.wait_for_function("window.playground")  # its config is there as soon as it is
        assert again.evaluate("playground.state().config") == trained["config"]
        # a bad value is refused with a message, and the server goes on
        again.reload()  # after a reload too: window.playground comes with its config
        again.wait_for_function("window.playground")
        assert again.evaluate("playground.state().config") == trained["config"]
        # the contract's Keras names for the losses are taken too
        assert again.evaluate("playground.set('loss', 'mse')")["config"]["loss"] == "square"
        assert again.evaluate("playground.set('loss', 'binary_crossentropy')")["config"][
            "loss"] == "cross-entropy"
        message = page.evaluate("playground.set('batchSize', 99).then(() => 'ok', e => e.message)")
        assert message == "batchSize must be an integer from 1 to 30; received 99"
        assert page.locator("#message").inner_text() == message
        assert page.evaluate("playground.step()")["epoch"] == trained["epoch"] + 1
        source = page.evaluate("playground.exportCode()")
        page.check('[data-control="batchNorm"]')
        page.wait_for_function("playground.state().config.batchNorm === true")
        page.select_option('[data-control="dropout"]', "0.1")
        page.wait_for_function("playground.state().config.dropout === 0.1")
        page.select_option('[data-control="schedule"]', "cosine")
        page.wait_for_function("playground.state().config.schedule === 'cosine'")
        assert page.evaluate("playground.step()")["epoch"] == 1   # a new network trains
        # a layer's own activation, the Korean interface, the model as a file
        page.select_option('.layer-activation[data-index="1"]', "elu")
        page.wait_for_function("JSON.stringify(playground.state().config.activations) === "
                               "JSON.stringify(['relu', 'elu', 'relu'])")
        page.click("#language")
        assert page.locator('[data-i18n="Learning rate"]').inner_text() == "학습률"
        assert page.locator("#language").inner_text() == "English"
        page.click("#language")
        assert page.locator('[data-i18n="Learning rate"]').inner_text() == "Learning rate"
        with page.expect_download() as download:
            page.click("#download-keras")
        saved = tmp_path / "from-page.keras"
        download.value.save_as(str(saved))
        import glassnet as gn

        kinds = [type(l).__name__ for l in gn.load_model(str(saved)).layers]
        assert kinds.count("Dense") == 4 and "BatchNormalization" in kinds
        csv = tmp_path / "points.csv"
        csv.write_text("x1,x2,label\n" + "\n".join(
            f"{i % 11 - 5},{i % 7 - 3},{1 if i % 2 else -1}" for i in range(40)) + "\nbad row\n")
        page.set_input_files("#upload", str(csv))
        page.wait_for_function("playground.state().config.dataset === 'upload'")
        assert page.locator("#report").inner_text().startswith(
            "Read 40 points (2 classes); skipped 1 bad row: line 42")
        # the points become one more data-set button, with its own thumbnail
        upload = page.locator('.datasets button[data-dataset="upload"]')
        assert upload.get_attribute("class") == "selected"
        page.click('.datasets button[data-dataset="circle"]')
        page.wait_for_function("playground.state().config.dataset === 'circle'")
        upload.click()
        page.wait_for_function("playground.state().config.dataset === 'upload'")
        drawn = page.evaluate("""() => new Set(document.querySelector(
            '.datasets button[data-dataset="upload"] canvas').getContext('2d')
            .getImageData(0, 0, 16, 16).data).size""")
        assert drawn > 3                 # orange and blue cells on the empty (white) ones
        page.screenshot(path=str(tmp_path / "playground.png"))
    path = tmp_path / "net.py"
    path.write_text(source.replace("epochs=100", "epochs=3"))
    result = subprocess.run([sys.executable, str(path)], capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0 and "test loss" in result.stdout, result.stderr


def test_gradient_flow_dead_and_saturated_units_and_the_confusion_matrix():
    deep = S.Session({"dataset": "blobs-3", "activation": "sigmoid", "hidden": [4] * 5,
                      "learningRate": 0.3})
    for _ in range(5):
        deep.step()
    inside = deep.inside()
    gradients = inside["gradients"]
    assert len(gradients) == 6 and gradients[0] < gradients[-1] / 100   # vanishing, on view
    confusion = np.array(inside["confusion"])
    assert confusion.shape == (3, 3) and confusion.sum() == len(deep.x) - deep.split
    assert np.trace(confusion) == round(deep.accuracy()[1] * confusion.sum())
    relu = S.Session({"activation": "relu", "hidden": [3]})
    layer = relu.model.layers[0]
    bias = layer.bias.numpy().copy()
    bias[1] = -100.0                                     # unit 1 never fires: dead
    layer.bias.assign(bias)
    assert relu.inside()["units"] == [[None, "dead", None]]
    tanh = S.Session({"hidden": [2]})
    kernel = tanh.model.layers[0].kernel.numpy().copy()
    kernel[:, 0] = 50.0                                  # unit 0 lives in tanh's flat tails
    tanh.model.layers[0].kernel.assign(kernel)
    assert tanh.inside()["units"] == [["saturated", None]]
    assert S.Session({"dataset": "reg-plane"}).inside()["confusion"] is None
    frame = deep.frame()
    header = json.loads(frame[4:4 + struct.unpack("<I", frame[:4])[0]])
    assert header["gradients"] == pytest.approx(gradients)
    assert header["units"] == ["." * 4] * 5                # one letter per unit, none marked
    frame = relu.frame()
    assert json.loads(frame[4:4 + struct.unpack("<I", frame[:4])[0]])["units"] == [".d."]
    frame = tanh.frame()
    assert json.loads(frame[4:4 + struct.unpack("<I", frame[:4])[0]])["units"] == ["s."]


def test_hover_reads_and_click_edits_a_weight_and_a_bias_in_chromium(server_url):
    with _page(server_url + "#seed=3") as page:
        before = page.evaluate("playground.step()")["testLoss"]
        # the curve from x1 (the top feature) to the first hidden unit passes through
        # the middle of the two nodes' facing edges; no other curve passes there
        x1 = page.locator('.node[data-feature="x1"]').bounding_box()
        unit = page.locator('.node[data-layer="1"][data-unit="0"]').bounding_box()
        middle = ((x1["x"] + x1["width"] + unit["x"]) / 2,
                  (x1["y"] + unit["y"] + (x1["height"] + unit["height"]) / 2) / 2)
        page.mouse.move(*middle)
        tip = page.locator("#tip")
        assert tip.is_visible() and tip.inner_text().startswith("Weight ")
        assert tip.inner_text().endswith("(click to edit)")
        answers = iter(["1.5", "-0.25"])
        page.on("dialog", lambda dialog: dialog.accept(next(answers)))
        page.mouse.click(*middle)
        page.wait_for_function(f"playground.state().testLoss !== {before}")
        page.mouse.move(middle[0] + 1, middle[1])
        assert tip.inner_text() == "Weight 1.500 (click to edit)"
        assert page.evaluate("playground.state().epoch") == 1          # an edit trains nothing
        # a unit's bias: hover the node, click to edit
        centre = (unit["x"] + unit["width"] / 2, unit["y"] + unit["height"] / 2)
        page.mouse.move(*centre)
        assert tip.inner_text().startswith("Bias ")
        edited = page.evaluate("playground.state().testLoss")
        page.mouse.click(*centre)
        page.wait_for_function(f"playground.state().testLoss !== {edited}")
        page.mouse.move(centre[0] + 1, centre[1])
        assert tip.inner_text() == "Bias -0.250 (click to edit)"
        page.mouse.move(5, 5)
        assert not tip.is_visible()
        # a feature that is off still shows its map, greyed
        off = page.locator('.node.feature.off[data-feature="x1x2"]')
        assert off.count() == 1
        corners = page.evaluate("""() => {
            const c = document.querySelector('.node[data-feature="x1x2"] canvas');
            const d = c.getContext('2d').getImageData(0, 0, 16, 16).data;
            return [[d[0], d[1], d[2], d[3]], [d[60], d[61], d[62], d[63]]]; }""")
        # x1·x2 at the top left (-6, 6) is -36 (orange), at the top right +36 (blue)
        assert corners == [[245, 147, 34, 255], [8, 119, 189, 255]]


def test_every_control_on_the_page_changes_the_network_in_chromium(server_url):
    with _page(server_url) as page:
        config = lambda: page.evaluate("playground.state().config")      # noqa: E731

        def changed(name, expected):
            page.wait_for_function(f"JSON.stringify(playground.state().config[{name!r}]) === "
                                   f"{json.dumps(json.dumps(expected))}", timeout=300_000)

        for name, value, expected in (("learningRate", "0.1", 0.1), ("optimizer", "adam", "adam"),
                                      ("loss", "cross-entropy", "cross-entropy"),
                                      ("regularization", "l2", "l2"),
                                      ("regularizationRate", "0.01", 0.01)):
            page.select_option(f'select[data-control="{name}"]', value)
            changed(name, expected)
        for name, value in (("trainRatio", 70), ("noise", 20), ("batchSize", 5), ("seed", 42)):
            page.eval_on_selector(f'[data-control="{name}"]', "(e, v) => { e.value = v; "
                                  "e.dispatchEvent(new Event('input', {bubbles: true})); "
                                  "e.dispatchEvent(new Event('change', {bubbles: true})); }",
                                  str(value))
            changed(name, value)
        assert page.locator("#trainRatio-value").inner_text() == "70"
        page.click('button[data-dataset="spiral"]')
        changed("dataset", "spiral")
        assert page.locator('button[data-dataset="spiral"]').get_attribute("class") == "selected"
        page.click('[data-control="regenerate"]')
        changed("seed", 43)
        page.click('[data-action="remove-layer"]')
        changed("hidden", [4])
        page.click('[data-action="add-unit"][data-index="0"]')
        changed("hidden", [5])
        page.click('[data-action="remove-unit"][data-index="0"]')
        page.click('[data-action="remove-unit"][data-index="0"]')
        changed("hidden", [3])
        page.click('.node.feature[data-feature="x1"]')
        changed("features", ["x2"])
        # the run buttons
        page.click('[data-control="step"]')
        page.wait_for_function("playground.state().epoch === 1")
        page.click('[data-control="play"]')
        page.wait_for_function("playground.state().epoch >= 5")
        page.click('[data-control="play"]')
        page.wait_for_function("!playground.state().running")
        page.click('[data-control="reset"]')
        page.wait_for_function("playground.state().epoch === 0")
        assert config()["hidden"] == [3]
        # show test data and discretize change the picture, not the network
        def pixels():
            return page.evaluate("Array.from(document.querySelector('#output').getContext('2d')"
                                 ".getImageData(0, 0, 300, 300).data.filter((_, i) => i % 4 == 0))")
        plain = pixels()
        page.check("#discretize")
        page.wait_for_timeout(100)
        sharp = pixels()
        def pure(reds):               # the share of fully orange or fully blue pixels
            return sum(r in (245, 8) for r in reds) / len(reds)
        assert pure(plain) < 0.3 < 0.7 < pure(sharp)     # a fresh network's output is near 0
        page.check("#show-test")
        page.wait_for_timeout(100)
        assert pixels() != sharp
        assert page.evaluate("playground.state().epoch") == 0


def test_loopback_hosts_are_known_as_loopback():
    from glassnet.playground.server import is_loopback

    for host in ("127.0.0.1", "127.0.0.2", "127.255.0.9", "::1", "localhost"):
        assert is_loopback(host), host
    for host in ("0.0.0.0", "192.168.1.5", "::", "nosuchhost.invalid"):
        assert not is_loopback(host), host


def test_cli_playground_on_a_host_that_does_not_exist_says_so(tmp_path):
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "glassnet", "playground", "--host",
                             "nosuchhost.invalid", "--no-browser"], capture_output=True,
                            text=True, timeout=600, cwd=tmp_path)
    assert result.returncode == 1
    assert "cannot find the host 'nosuchhost.invalid'" in result.stderr
    assert "--port" not in result.stderr and "Traceback" not in result.stderr


def test_the_server_answers_only_its_own_page():
    """Any web site a student opens could connect to ws://127.0.0.1:PORT/ws (no
    Origin check), and DNS rebinding could reach the page (no Host check)."""
    from starlette.testclient import TestClient
    from starlette.websockets import WebSocketDisconnect

    from glassnet.playground.server import create_app

    app = create_app()
    own = TestClient(app, base_url="http://127.0.0.1:8765")
    assert own.get("/").status_code == 200
    assert TestClient(app, base_url="http://localhost:8765").get("/").status_code == 200
    assert TestClient(app, base_url="http://[::1]:8765").get("/").status_code == 200
    assert TestClient(app, base_url="http://127.0.0.2:8765").get("/").status_code == 200
    for rebinding in ("http://attacker.example:8765", "http://127.0.0.1.nip.io:8765"):
        response = TestClient(app, base_url=rebinding).get("/")
        assert response.status_code == 403 and "only its own page" in response.text
    with own.websocket_connect(OWN_WS, headers={"origin": "http://127.0.0.1:8765"}) as ws:
        assert _receive_until(ws, "options")["learningRates"]
    for origin in ("http://evil.example", "http://127.0.0.1:9999", "null"):
        with pytest.raises(WebSocketDisconnect):
            with own.websocket_connect(OWN_WS, headers={"origin": origin}) as ws:
                ws.receive()
    assert app.state.sessions == set()
    # a --host given on purpose (a classroom's LAN address) is the page's own too
    lan = create_app(hosts=["192.168.1.5"])
    assert TestClient(lan, base_url="http://192.168.1.5:8765").get("/").status_code == 200


def test_non_numbers_deep_json_and_a_full_upload_keep_the_socket(caplog):
    from starlette.testclient import TestClient

    from glassnet.playground.server import create_app

    client = TestClient(create_app(), base_url="http://127.0.0.1:8765")
    with client.websocket_connect(OWN_WS) as ws:
        _receive_until(ws, "frame")
        for value in ("Infinity", "-Infinity", "NaN"):
            ws.send_text('{"id": 1, "type": "set", "name": "noise", "value": %s}' % value)
            message = _receive_until(ws, "error")["message"]
            assert f"{value} is not a number in JSON" in message
        ws.send_text("[" * 20000 + "]" * 20000)
        assert "nested too deeply" in _receive_until(ws, "error")["message"]
        # the page's own limit, 2,000 rows tab-separated with CRLF (59 KB), escaped in JSON
        rng = np.random.default_rng(0)
        rows = "".join(f"{x:.10f}\t{y:.10f}\t{int(y > 0)}\r\n"
                       for x, y in rng.uniform(-5, 5, (2000, 2)))
        assert 55 * 1024 < len(rows.encode()) <= 60 * 1024
        message = json.dumps({"id": 2, "type": "upload", "csv": rows})
        assert len(message) > 64 * 1024  # it used to close the socket here
        ws.send_text(message)
        ack = _receive_until(ws, "ack")
        assert ack["ok"] and ack["config"]["dataset"] == "upload", ack
        ws.send_text(json.dumps({"id": 3, "type": "step"}))  # the socket is still there
        assert _receive_until(ws, "ack")["ok"]
    assert "Traceback" not in caplog.text


def test_a_regression_set_takes_the_square_loss_as_tensorflow_playground():
    """A regression set chosen while cross-entropy was selected showed a negative
    test loss and a blank curve. The loss follows the problem's type."""
    from glassnet.playground import session as S

    s = S.Session()
    s.set("loss", "cross-entropy")
    config = s.set("dataset", "reg-plane")
    assert config["loss"] == "square"
    s.step()
    train, test = s._losses()
    assert np.isfinite(train) and train >= 0 and np.isfinite(test) and test >= 0
    with pytest.raises(ValueError, match="'cross-entropy' is for classes.*use 'square'"):
        s.set("loss", "cross-entropy")
    kept, problems = S.salvage_config({"dataset": "reg-gauss", "loss": "cross-entropy"})
    assert kept["dataset"] == "reg-gauss" and kept.get("loss", "square") == "square"
    assert S.check_config({"dataset": "reg-gauss"})["loss"] == "square"


def test_korean_mode_has_a_hangul_font(server_url):
    """Without a CJK font Korean users saw boxes: the page asks for NanumGothic,
    which the README's set-up commands install (fonts-nanum)."""
    import shutil
    import subprocess

    readme = (pathlib.Path(__file__).parent.parent / "README.md").read_text()
    assert readme.count("fonts-nanum") >= 3  # both commands, and the sentence that says so
    if shutil.which("fc-list") is None or "Nanum" not in subprocess.run(
            ["fc-list"], capture_output=True, text=True).stdout:
        pytest.skip("fonts-nanum is not installed here (the README's commands install it)")
    with _page(server_url) as page:
        page.evaluate("playground.language('ko')")
        family = page.evaluate("getComputedStyle(document.body).fontFamily")
        assert "NanumGothic" in family
        assert page.evaluate("document.fonts.check('14px NanumGothic', '학습률')")
        # Hangul drawn in that font has real glyphs: wider than a box per character would be
        # is not a reliable measure, so compare with a font that has no Hangul at all
        widths = page.evaluate("""() => {
            const c = document.createElement('canvas').getContext('2d');
            c.font = '20px NanumGothic'; const nanum = c.measureText('학습률 손실').width;
            c.font = '20px monospace'; const mono = c.measureText('학습률 손실').width;
            return [nanum, mono]; }""")
        assert widths[0] > 0 and widths[0] != widths[1]


# ------------------------------------------------------------------ the playground for a teacher
# Korean mode may show these Latin-letter words and no others: names of things (glassnet,
# ReLU, SGD, Adam, L1/L2, XOR, CSV, the file formats), the features' and the activations'
# names as Keras spells them, the CSV's column names, NaN, the math's L and W (‖∂L/∂W‖),
# and the button that switches back to English.
KOREAN_ALLOWED = {w.lower() for w in (
    "glassnet", "English", "ReLU", "SGD", "Adam", "L1", "L2", "XOR", "CSV", "KB", "keras",
    "safetensors", "x1", "x2", "x1x2", "sin", "label", "NaN", "L", "W",
    *session.HIDDEN_ACTIVATIONS)}
COLLECT_TEXT = """() => {
  const texts = [document.title, document.body.innerText];
  document.querySelectorAll('option, .datasets small').forEach((o) => texts.push(o.textContent));
  document.querySelectorAll('[title]').forEach((e) => texts.push(e.title));
  const tip = document.querySelector('#tip');
  if (!tip.hidden) texts.push(tip.textContent);
  return texts.join('\\n'); }"""


def _english(text):
    """The Latin-letter words in ``text`` that are not on the allow-list (a number's
    exponent, as in 1.2e-3, is not a word)."""
    import re

    return sorted({w for w in re.findall(r"\b[A-Za-z][A-Za-z0-9_]*", text)
                   if w.lower() not in KOREAN_ALLOWED})


def test_korean_mode_shows_no_english_outside_an_allow_list(tmp_path):
    """In Korean mode every string stayed English that the server said (a link's
    warnings, the CSV report, errors, the NaN advice, "server full", "connection
    closed"), and "frames/s", the tooltips, the options and the data sets' names
    too. Every text and tooltip the page shows, in each of those states, is
    collected and has no English word outside KOREAN_ALLOWED; switched back, the
    same messages are English."""
    seen = {}

    def collect(page, state):
        seen[state] = page.evaluate(COLLECT_TEXT)

    with _serving(max_sessions=1) as (url, server), \
            _page(url + "#dataset=reg-plane&hidden=8,8,8&activation=relu&learningRate=10"
                  "&batchSize=99", language="ko") as page:
        assert page.locator('[data-i18n="Learning rate"]').inner_text() == "학습률"
        # the link's bad part is left out, and said in Korean
        assert page.locator("#message").inner_text().startswith("이 링크의 일부를 뺐습니다")
        collect(page, "a link with a bad value")
        for _ in range(30):                      # the learning rate makes the loss blow up
            page.evaluate("playground.step()")
            if page.evaluate("playground.state().message"):
                break
        assert "학습률을 낮추거나" in page.locator("#message").inner_text()
        collect(page, "the NaN advice")
        page.evaluate("playground.set('dataset', 'blobs-3').then(() => playground.reset())")
        page.evaluate("playground.play()")
        page.wait_for_function("document.querySelector('#fps').textContent.includes('프레임/초')")
        collect(page, "training, with frames/s")
        page.evaluate("playground.pause()")
        page.hover(".grad[data-layer='0']")
        assert "기울기" in page.locator("#tip").inner_text()
        collect(page, "the gradient bar's tip")
        page.hover('.node[data-layer="1"][data-unit="0"]')
        assert page.locator("#tip").inner_text().startswith("편향")
        collect(page, "a bias's tip")
        message = page.evaluate("playground.set('batchSize', 99).then(() => 'ok', e => e.message)")
        assert message == "batchSize must be an integer from 1 to 30; received 99"
        assert page.locator("#message").inner_text() == \
            "배치 크기: 1부터 30까지의 정수여야 합니다 (받은 값: 99)"
        collect(page, "a refused setting")
        csv = tmp_path / "points.csv"
        csv.write_text("x1,x2,label\n" + "\n".join(
            f"{i % 11 - 5},{i % 7 - 3},{i % 3}" for i in range(40)) + "\n1,2\n")
        page.set_input_files("#upload", str(csv))
        page.wait_for_function("playground.state().config.dataset === 'upload'")
        assert page.locator("#report").inner_text() == (
            "점 40개를 읽었습니다 (클래스 3개); 잘못된 줄 1개를 건너뛰었습니다: 42번째 줄: 숫자 "
            "3개(x1, x2, label)가 와야 하는데 '1,2'.")
        collect(page, "the CSV's report")
        # a second tab finds the server full (it allows one), in Korean
        full = page.context.browser.new_page()
        full.add_init_script("localStorage.setItem('glassnet-playground-language', 'ko')")
        full.goto(url)
        full.wait_for_function("document.querySelector('#message').textContent !== ''")
        assert full.locator("#message").inner_text().startswith("플레이그라운드 서버가 꽉 찼습니다")
        collect(full, "server full")
        full.close()
        server.should_exit = True                  # the server goes away
        page.wait_for_function("document.querySelector('#message').textContent.includes('연결')")
        collect(page, "connection closed")
        page.screenshot(path=str(tmp_path / "korean.png"))
        # English again: the same messages, in English
        page.click("#language")
        assert page.locator("#report").inner_text().startswith("Read 40 points (3 classes)")
        assert page.locator("#message").inner_text() == \
            "The connection to the playground server closed; reload the page."
    english = {state: _english(text) for state, text in seen.items()}
    assert english == {state: [] for state in seen}
    assert len(seen) == 9


def test_korean_messages_of_the_session_are_korean():
    """What Session and the server say that the page test cannot easily provoke
    has its Korean too: each setting's refusal, the link's problems, the edits."""
    from glassnet.playground.words import korean

    refusals = []
    for name, value in [("dataset", 5), ("features", []), ("hidden", [1] * 9), ("hidden", [99]),
                        ("activations", [1, 2, 3]), ("learningRate", 7), ("optimizer", 1),
                        ("batchNorm", 1), ("noise", -1), ("seed", -1), ("loss", 3),
                        ("regularizationRate", 5), ("dropout", 0.7)]:
        with pytest.raises(ValueError) as refused:
            S.validate(name, value)
        refusals.append(refused.value)
    with pytest.raises(ValueError) as refused:
        S.validate("loss", "square", dict(S.DEFAULTS, dataset="blobs-3"))
    refusals.append(refused.value)
    with pytest.raises(ValueError) as refused:
        S.validate("loss", "cross-entropy", dict(S.DEFAULTS, dataset="reg-plane"))
    refusals.append(refused.value)
    s = S.Session()
    for args in [(0, 9, 0, 1.0), (7, 0, 0, 1.0), (0, 0, 0, float("nan"))]:
        with pytest.raises(ValueError) as refused:
            s.edit_weight(*args)
        refusals.append(refused.value)
    with pytest.raises(ValueError) as refused:
        s.upload("1,2,3\n")
    refusals.append(refused.value)
    _, problems = S.salvage_config({"dataset": "upload", "seed": -4})
    texts = [korean(r) for r in refusals] + [korean(p) for p in problems]
    assert all(korean(r) != str(r) for r in refusals)     # each has a Korean of its own
    # a refusal lists the values the setting takes, which are the API's own names
    values = {w.lower() for name in (*data.DATASETS, *S.DEFAULTS, *S.OPTIMIZERS, *S.LOSSES,
                                     "null", "true", "false") for w in name.split("-")}
    english = {t: [w for w in _english(t) if w.lower() not in values] for t in texts}
    assert len(texts) == 21 and english == {t: [] for t in texts}


def test_the_output_map_has_a_legend_a_problem_type_named_data_sets_and_a_gradient_tip(
        server_url):
    """TensorFlow Playground's colour legend, its problem-type selector, names on
    the data-set buttons, and what the ∇ bars mean, on hover."""
    with _page(server_url + "#dataset=circle") as page:
        legend = page.locator("#legend")
        assert "orange −1" in legend.inner_text() and "blue +1" in legend.inner_text()
        assert page.locator("#legend .ticks").inner_text().split() == ["−1", "0", "1"]
        # the bar is the map's own colour scale: orange at the left, blue at the right
        ends = page.evaluate("""() => { const c = document.querySelector('#legend canvas')
            .getContext('2d'); return [0, 255].map((x) => [...c.getImageData(x, 0, 1, 1).data]); }""")
        assert ends == [[245, 147, 34, 255], [8, 119, 189, 255]]
        names = page.locator(".datasets button:not([hidden]) small").all_inner_texts()
        assert names == ["Circle", "XOR", "Gaussian", "Spiral", "Moons", "3 blobs", "4 blobs",
                         "5 blobs", "3 spirals"]
        assert page.locator("#problem").input_value() == "classification"
        page.select_option("#problem", "regression")   # the first regression set, its loss
        page.wait_for_function("playground.state().config.dataset === 'reg-plane'")
        assert page.evaluate("playground.state().config.loss") == "square"
        assert page.locator(".datasets button:not([hidden]) small").all_inner_texts() == [
            "Plane", "Multi-Gaussian"]
        page.wait_for_function("document.querySelector('#legend').textContent.includes("
                               "'predicted value')")
        page.select_option("#problem", "classification")
        page.wait_for_function("playground.state().config.dataset === 'circle'")
        page.click('.datasets button[data-dataset="blobs-4"]')
        page.wait_for_function("document.querySelectorAll('#legend .swatches i').length === 4")
        assert page.locator("#legend .swatches").inner_text().split() == ["0", "1", "2", "3"]
        page.hover(".grad[data-layer='1']")
        tip = page.locator("#tip").inner_text()
        assert tip.startswith("∇: how large the loss's gradient is for this layer's weights")
        assert "vanishing" in tip


def test_eight_hidden_layers_at_1024_px_stay_in_their_panel_and_a_rebuild_clears_the_tip(
        server_url):
    """At 1024 px, 8 hidden layers spilled over the output panel; and a weight's
    tooltip stayed on screen after the network was rebuilt."""
    with _page(server_url + "#dataset=spiral&hidden=" + ",".join(["8"] * 8), width=1024) as page:
        page.wait_for_function("document.querySelectorAll('.node[data-layer=\"8\"]').length === 8")
        # every point of the output panel shows the output panel, not a node over it
        stray = page.evaluate("""() => {
            const box = document.querySelector('section.output').getBoundingClientRect();
            const stray = [];
            for (let x = box.left + 1; x < box.right; x += 7)
              for (let y = box.top + 1; y < Math.min(box.bottom, innerHeight); y += 7) {
                const hit = document.elementFromPoint(x, y);
                if (hit && !hit.closest('section.output')) stray.push(hit.className || hit.tagName);
              }
            return stray; }""")
        assert stray == []
        network = page.evaluate("""() => { const n = document.querySelector('#net');
            return [n.scrollWidth > n.clientWidth, n.getBoundingClientRect().right <=
                    document.querySelector('section.output').getBoundingClientRect().left]; }""")
        assert network == [True, True]               # it scrolls inside its own column
        # the weights' curves follow the nodes when the network scrolls: hover one
        page.evaluate("document.querySelector('#net').scrollLeft = 10000")
        node = page.locator('.node.output-node').bounding_box()
        page.mouse.move(node["x"] + node["width"] / 2, node["y"] + node["height"] / 2)
        assert page.locator("#tip").inner_text().startswith("Bias ")
        page.evaluate("document.querySelector('#net').scrollLeft = 0")
        first = page.locator('.node[data-layer="1"][data-unit="0"]').bounding_box()
        second = page.locator('.node[data-layer="2"][data-unit="0"]').bounding_box()
        page.mouse.move((first["x"] + first["width"] + second["x"]) / 2,
                        first["y"] + first["height"] / 2)
        assert page.locator("#tip").inner_text().startswith("Weight ")
        page.evaluate("playground.set('hidden', [3])")
        page.wait_for_function("playground.state().config.hidden.length === 1")
        assert page.locator("#tip").is_hidden()
