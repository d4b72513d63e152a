"""keras.initializers: the initializer classes, and Keras's snake_case aliases."""

from glassnet.initializers import (Constant, GlorotNormal, GlorotUniform, HeNormal, HeUniform,
                                   Initializer, LecunNormal, LecunUniform, Ones, RandomNormal,
                                   RandomUniform, VarianceScaling, Zeros, get, serialize)

glorot_uniform, glorot_normal, he_uniform, he_normal = GlorotUniform, GlorotNormal, \
    HeUniform, HeNormal
lecun_normal, lecun_uniform, random_normal, random_uniform = LecunNormal, LecunUniform, \
    RandomNormal, RandomUniform
zeros, ones, constant, variance_scaling = Zeros, Ones, Constant, VarianceScaling


def deserialize(config):
    return get(config)


__all__ = ["Initializer", "Constant", "GlorotNormal", "GlorotUniform", "HeNormal", "HeUniform",
           "LecunNormal", "LecunUniform", "Ones", "RandomNormal", "RandomUniform",
           "VarianceScaling", "Zeros", "get", "serialize", "deserialize", "glorot_uniform",
           "glorot_normal", "he_uniform", "he_normal", "lecun_normal", "lecun_uniform",
           "random_normal", "random_uniform", "zeros", "ones", "constant",
           "variance_scaling"]
