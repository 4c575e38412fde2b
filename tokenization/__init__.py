"""Training and wrapping the WordLevel tokenizer that maps text to the rows of a word2vec table (`word_level`).

The subpackages of `word2vec_hub` import nothing on their own, so that the command line starts instantly; import
from the module that defines a name, or from `word2vec_hub` itself.
"""
