"""examples/generative.py: TensorFlow's autoencoder tutorial trains with fit and the
DCGAN tutorial's two-tape train_step trains a GAN; both draw their pictures."""

import pathlib
import runpy

from test_plot_cli import assert_real_png

SCRIPT = pathlib.Path(__file__).parent.parent / "examples" / "generative.py"


def test_generative_script(tmp_path, fashion_mnist, capsys):
    script = runpy.run_path(str(SCRIPT))
    script["main"](str(tmp_path), train_images=8192, gan_images=512, autoencoder_epochs=2,
                   gan_epochs=2)
    assert_real_png(tmp_path / "autoencoder.png", min_height=300)
    assert_real_png(tmp_path / "gan_samples.png", min_height=200)
    out = capsys.readouterr().out
    losses = [float(line.split("val_loss ")[1]) for line in out.splitlines()
              if line.startswith("autoencoder epoch")]
    # the mean image alone scores 0.087; this short run 0.054, the full run 0.0124 (5 epochs)
    assert len(losses) == 2 and losses[1] < losses[0] and losses[1] < 0.065
    gan = [line for line in out.splitlines() if line.startswith("GAN epoch")]
    assert len(gan) == 2 and all("nan" not in line for line in gan)
