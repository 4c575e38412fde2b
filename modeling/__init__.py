"""The word2vec model as Hugging Face classes, registered with the Auto classes under model_type "word2vec".

Importing this package lets `AutoConfig`, `AutoModel`, `AutoModelForSequenceClassification` and `AutoTokenizer`
load our folders without `trust_remote_code`; saving a model writes the `auto_map` and copies `modeling_word2vec.py`,
`subwords.py` (which it imports), and `modeling_word2vec_classifier.py` for the classifier, beside the weights, so
that a machine without this package loads it with `trust_remote_code=True`.
"""

from transformers import (
    AutoConfig,
    AutoModel,
    AutoModelForSequenceClassification,
    AutoTokenizer,
    PreTrainedTokenizerFast,
)

from .modeling_word2vec import CheckpointMismatchError, Word2VecConfig, Word2VecModel, Word2VecPreTrainedModel
from .modeling_word2vec_classifier import Word2VecForSequenceClassification

AutoConfig.register(Word2VecConfig.model_type, Word2VecConfig, exist_ok=True)
AutoModel.register(Word2VecConfig, Word2VecModel, exist_ok=True)
AutoTokenizer.register(Word2VecConfig, fast_tokenizer_class=PreTrainedTokenizerFast, exist_ok=True)
Word2VecConfig.register_for_auto_class()
Word2VecModel.register_for_auto_class("AutoModel")
AutoModelForSequenceClassification.register(Word2VecConfig, Word2VecForSequenceClassification, exist_ok=True)
Word2VecForSequenceClassification.register_for_auto_class("AutoModelForSequenceClassification")

__all__ = [
    "CheckpointMismatchError",
    "Word2VecConfig",
    "Word2VecForSequenceClassification",
    "Word2VecModel",
    "Word2VecPreTrainedModel",
]
