"""What the playground's server says to the page, in English and Korean.

A message is built once, in both languages, where it is made: ``Said(english,
korean)`` is the English string with its Korean as ``.ko``, so Python code
(and tests, and logs) go on reading English while the server sends both, and
the page shows the one its reader chose. ``refuse`` makes the ValueError the
settings raise; ``korean(x)`` is the Korean of a Said, an error made from one,
or the text itself when it has none.
"""

from __future__ import annotations


class Said(str):
    """English text that carries its Korean (``.ko``)."""

    def __new__(cls, english, korean):
        text = super().__new__(cls, english)
        text.ko = korean
        return text


def refuse(english, korean):
    """A ValueError whose message is ``Said(english, korean)``."""
    return ValueError(Said(english, korean))


def korean(thing):
    """The Korean of a Said, or of an exception raised with one; else its own text."""
    if isinstance(thing, BaseException):
        thing = thing.args[0] if len(thing.args) == 1 else str(thing)
    return getattr(thing, "ko", None) or str(thing)


def join(parts, separator="; "):
    """Said parts joined in both languages."""
    return Said(separator.join(map(str, parts)), separator.join(korean(p) for p in parts))


# the settings as the page's Korean labels name them
SETTINGS = {
    "dataset": "데이터 세트", "features": "특성", "hidden": "은닉층", "activation": "활성화 함수",
    "activations": "층별 활성화 함수", "learningRate": "학습률", "optimizer": "옵티마이저",
    "schedule": "학습률 스케줄", "dropout": "드롭아웃", "batchNorm": "배치 정규화",
    "loss": "손실", "regularization": "규제", "regularizationRate": "규제 비율",
    "batchSize": "배치 크기", "noise": "노이즈", "trainRatio": "학습 데이터 비율", "seed": "시드",
    "hidden: each layer's units": "은닉층의 뉴런 수", "activations: each layer's": "층별 활성화 함수",
    "format": "파일 형식", "layer": "층",
}


def setting(name):
    """A setting's Korean label (the name itself when it has none)."""
    return SETTINGS.get(name, str(name))
