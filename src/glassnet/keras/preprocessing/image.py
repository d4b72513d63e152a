"""keras.preprocessing.image (Keras 2's names; Keras 3 has them in
keras.utils): between arrays of shape (height, width, channels) and Pillow
images. Channels-last, as all of glassnet.

    array_to_img(x, scale=True): x → an image; with ``scale``, x is first
        stretched to 0-255: (x − min x) / (max x − min x) · 255
    img_to_array(img): an image → float32 array (height, width, channels)
    load_img(path, color_mode="rgb", target_size=None) / save_img(path, x)
"""

from __future__ import annotations

import numpy as np

__all__ = ["array_to_img", "img_to_array", "load_img", "save_img"]

_MODES = {"grayscale": "L", "rgb": "RGB", "rgba": "RGBA"}


def _channels_last(data_format, what):
    if data_format not in (None, "channels_last"):
        raise NotImplementedError(f"{what}: data_format={data_format!r} is not implemented in "
                                  f"glassnet (images are channels_last)")


def array_to_img(x, data_format=None, scale=True, dtype=None):
    """An array (height, width, 1 | 3 | 4) as a Pillow image."""
    from PIL import Image

    _channels_last(data_format, "array_to_img")
    x = np.asarray(getattr(x, "numpy", lambda: x)(), dtype=np.float64)
    if x.ndim != 3 or x.shape[-1] not in (1, 3, 4):
        raise ValueError(f"array_to_img expects an array of shape (height, width, 1, 3 or 4 "
                         f"channels); received shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError("array_to_img: the array holds NaN or infinite values")
    if scale:
        x = x - x.min()
        top = x.max()
        if top > 0:
            x = x / top
        x = x * 255
    pixels = np.clip(np.rint(x), 0, 255).astype(np.uint8)
    if pixels.shape[-1] == 1:
        return Image.fromarray(pixels[:, :, 0], "L")
    return Image.fromarray(pixels, "RGB" if pixels.shape[-1] == 3 else "RGBA")


def img_to_array(img, data_format=None, dtype=None):
    """A Pillow image as a float32 array (height, width, channels)."""
    _channels_last(data_format, "img_to_array")
    x = np.asarray(img, dtype=dtype or "float32")
    return x[:, :, np.newaxis] if x.ndim == 2 else x


def load_img(path, color_mode="rgb", target_size=None, interpolation="nearest",
             keep_aspect_ratio=False):
    """The image file at ``path`` in ``color_mode``, resized to ``target_size``
    (height, width) if given. Images larger than Pillow's safety limit are refused."""
    from PIL import Image

    if color_mode not in _MODES:
        raise ValueError(f"load_img: color_mode must be one of {sorted(_MODES)}; received "
                         f"{color_mode!r}")
    if keep_aspect_ratio:
        raise NotImplementedError("load_img: keep_aspect_ratio=True is not implemented in "
                                  "glassnet")
    methods = {"nearest": Image.NEAREST, "bilinear": Image.BILINEAR, "bicubic": Image.BICUBIC}
    if interpolation not in methods:
        raise ValueError(f"load_img: interpolation must be one of {sorted(methods)}; "
                         f"received {interpolation!r}")
    try:
        with Image.open(path) as opened:
            img = opened.convert(_MODES[color_mode])
    except (OSError, Image.DecompressionBombError) as error:
        raise ValueError(f"load_img: cannot read the image {str(path)!r}: {error}") from None
    if target_size is not None:
        height, width = target_size
        img = img.resize((int(width), int(height)), methods[interpolation])
    return img


def save_img(path, x, data_format=None, file_format=None, scale=True, **kwargs):
    """Write the array ``x`` (height, width, channels) as an image file."""
    array_to_img(x, data_format=data_format, scale=scale).save(path, format=file_format,
                                                               **kwargs)
