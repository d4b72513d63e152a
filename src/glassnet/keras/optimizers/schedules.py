"""keras.optimizers.schedules: learning rates that change with the step."""

from glassnet.optimizers import (CosineDecay, ExponentialDecay, InverseTimeDecay,
                                 LearningRateSchedule, PiecewiseConstantDecay, PolynomialDecay)

__all__ = ["LearningRateSchedule", "CosineDecay", "ExponentialDecay", "InverseTimeDecay",
           "PolynomialDecay", "PiecewiseConstantDecay"]
