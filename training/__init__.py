"""Training word2vec models: reading corpora, encoding them, skip-gram with negative sampling, saving."""

from .corpus import CorpusError, TextCorpus
from .distributed import Distributed, RankFailure
from .output import OutputError, check_output_dir, save_model_folder
from .trainer import TrainingArguments, TrainingInterrupted, TrainingResult, resolve_device, train_word2vec

__all__ = [
    "CorpusError",
    "Distributed",
    "OutputError",
    "RankFailure",
    "TextCorpus",
    "TrainingArguments",
    "TrainingInterrupted",
    "TrainingResult",
    "check_output_dir",
    "resolve_device",
    "save_model_folder",
    "train_word2vec",
]
