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
               "IM2COL_BUDGET_BYTES"}


def test_korean_and_english_point_to_each_other_and_nothing_is_left_to_fill():
    assert "README.ko.md" in EN and "README.md" in KO
    for text in (EN, KO):
        names = set(re.findall(r"\b[A-Z0-9]{2,}(?:_[A-Z0-9]{2,})+\b", text))
        assert names <= ENVIRONMENT, names - ENVIRONMENT  # e.g. a placeholder left behind
    hangul = len(re.findall(r"[가-힣]", KO))
    assert hangul > 3000  # the prose is Korean, not English left in place
