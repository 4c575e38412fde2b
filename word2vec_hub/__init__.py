"""word2vec-hub: train, share and reuse word2vec embeddings as Hugging Face models.

The names below are imported on first use, so that `import word2vec_hub` (and the `word2vec` command's `--help`)
does not pay for torch and transformers:

    from word2vec_hub import Word2VecModel, TextCorpus, TrainingArguments, train_word2vec
"""

from __future__ import annotations

import importlib
from importlib.metadata import version

__version__ = version("word2vec-hub")

_PUBLIC_API = {
    "Word2VecConfig": "word2vec_hub.modeling",
    "Word2VecModel": "word2vec_hub.modeling",
    "TrainingArguments": "word2vec_hub.training.arguments",
    "TextCorpus": "word2vec_hub.training.corpus",
    "CorpusError": "word2vec_hub.training.corpus",
    "train_word2vec": "word2vec_hub.training.trainer",
    "TrainerCallback": "word2vec_hub.training.callbacks",
    "TrainerState": "word2vec_hub.training.callbacks",
    "save_model_folder": "word2vec_hub.folders.model_folder",
    "convert_vector_file": "word2vec_hub.conversion.convert",
    "to_keyed_vectors": "word2vec_hub.conversion.convert",
    "export_word2vec_format": "word2vec_hub.conversion.convert",
    "export_fasttext_bin": "word2vec_hub.conversion.convert",
    "shrink_model": "word2vec_hub.conversion.shrink",
    "shrink_model_folder": "word2vec_hub.conversion.shrink",
    "evaluate_word_pairs": "word2vec_hub.evaluation.benchmarks",
    "evaluate_word_analogies": "word2vec_hub.evaluation.benchmarks",
    "push_model_folder": "word2vec_hub.sharing.hub",
    "pull_model_folder": "word2vec_hub.sharing.hub",
}
__all__ = ["__version__", *_PUBLIC_API]


def __getattr__(name: str):
    if name not in _PUBLIC_API:
        raise AttributeError(f"module 'word2vec_hub' has no attribute {name!r}")
    value = getattr(importlib.import_module(_PUBLIC_API[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
