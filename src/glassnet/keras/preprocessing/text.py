"""keras.preprocessing.text: Keras 2's ``Tokenizer``, ``text_to_word_sequence``,
``one_hot``, ``hashing_trick`` and ``tokenizer_from_json`` (see
:mod:`glassnet.tokenizer`)."""

from glassnet.tokenizer import (Tokenizer, hashing_trick, one_hot, text_to_word_sequence,
                                tokenizer_from_json)

__all__ = ["Tokenizer", "text_to_word_sequence", "one_hot", "hashing_trick",
           "tokenizer_from_json"]
