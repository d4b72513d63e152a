"""README.ko.md is the README in Korean, kept in step with README.md: the same
commands, the same code blocks, the same measured numbers."""

import pathlib
import re

ROOT = pathlib.Path(__file__).parent.parent
EN = (ROOT / "README.md").read_text()
KO = (ROOT / "README.ko.md").read_text()


def blocks(text):
    return re.findall(r"^```\w*\n.*?^```", text, re.S | re.M)


def command(text, marker):
    return re.search(rf"<!-- {marker} -->\n```sh\n(.*?)\n```", text, re.S).group(1)


def test_same_code_blocks_in_the_same_order():
    en, ko = blocks(EN), blocks(KO)
    assert len(en) >= 10
    assert en == ko


def test_same_two_commands():
    for marker in ("main-command", "test-command"):
        assert command(EN, marker) == command(KO, marker)


def test_same_numbers_in_the_tables():
    def cells(text):
        rows = [line for line in text.splitlines() if line.startswith("|")]
        return [n for row in rows for n in re.findall(r"\*\*[\d.]+\*\*|\d+\.\d+", row)]

    assert cells(EN) == cells(KO)


ENVIRONMENT = {"GLASSNET_REAL_CODE", "GLASSNET_DATA", "GLASSNET_REQUIRE_DATA", "KERAS_BACKEND",
               "OPENBLAS_NUM_THREADS", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "PNG_WIDTH_PX", "CACHE_CHUNK_BYTES",
               "IM2COL_BUDGET_BYTES", "XLA_FLAGS", "GLASSNET_KERAS_JAX_PYTHON"}


def test_korean_and_english_point_to_each_other_and_nothing_is_left_to_fill():
    assert "README.ko.md" in EN and "README.md" in KO
    for text in (EN, KO):
        names = set(re.findall(r"\b[A-Z0-9]{2,}(?:_[A-Z0-9]{2,})+\b", text))
        assert names <= ENVIRONMENT, names - ENVIRONMENT  # e.g. a placeholder left behind
    hangul = len(re.findall(r"[가-힣]", KO))
    assert hangul > 3000  # the prose is Korean, not English left in place


def _claims(text, pattern):
    return [(m.group(1), m.group(2)) for m in re.finditer(pattern, text)]


def test_a_number_given_twice_agrees_everywhere():
    """The tweets RNNs' test accuracies, given in the README (both languages)
    and lesson 09: one run's numbers, the same wherever they are quoted
    (issue 23: 0.740/0.721/0.724 in one place, 0.737/0.738/0.741 in another,
    and "0.74 in 5 s" beside "in 7 s")."""
    import json

    root = pathlib.Path(__file__).parent.parent
    texts = {name: (root / name).read_text() for name in ("README.md", "README.ko.md")}
    lesson = json.loads((root / "examples" / "lessons" / "09_text_rnn.ipynb").read_text())
    texts["lesson 09"] = "\n".join("".join(c["source"]) for c in lesson["cells"]
                                   if c["cell_type"] == "markdown")
    found = {}
    for where, text in texts.items():
        for model, value in _claims(text, r"\b(SimpleRNN|LSTM|GRU),?\s+(0\.\d{3})\b"):
            if float(value) >= 0.5:  # accuracies (not "GRU passes 0.017" of a gradient)
                found.setdefault(model, {}).setdefault(value, []).append(where)
        for model, value in _claims(text, r"--model (lstm|gru|simplernn)\b[^\n]*?: (0\.\d+)"):
            found.setdefault(model.replace("simplernn", "SimpleRNN").upper().replace(
                "SIMPLERNN", "SimpleRNN"), {}).setdefault(value.ljust(5, "0"), []).append(where)
    assert found.get("LSTM"), "no tweets accuracy found to check"
    disagree = {model: values for model, values in found.items() if len(values) > 1}
    assert not disagree, f"the same number given differently: {disagree}"
