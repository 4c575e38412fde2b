"""Saving a text classifier's folder: weights, config and code, tokenizer, and a card stating labels, data and
accuracy (`model-index`), written atomically where `checks.check_output_dir` allows."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from huggingface_hub import EvalResult, ModelCard, ModelCardData
from transformers import PreTrainedTokenizerFast

from word2vec_hub.modeling import Word2VecForSequenceClassification
from word2vec_hub.resources import readable_size

from .checks import CARD_FILE, check_output_dir, replace_or_refuse
from .model_card import remote_code_transformers
from .model_folder import weights_bytes, write_companion_files

CLASSIFIER_CARD_TEMPLATE = Path(__file__).with_name("classifier_card_template.md")


@dataclass
class ClassifierTraining:
    """What the card says of the classifier's training and test: the data's names, sizes, the settings in words,
    and the test accuracy (None: not tested)."""

    vectors: str
    train_data: str
    train_count: int
    settings: str
    test_data: str | None = None
    test_count: int = 0
    accuracy: float | None = None
    example: str = "Shares rose after the company reported record profits."


def build_classifier_card(
    model: Word2VecForSequenceClassification, model_id: str, training: ClassifierTraining
) -> ModelCard:
    config = model.config
    labels = [config.id2label[index] for index in range(config.num_labels)]
    eval_results = None
    if training.accuracy is not None:
        eval_results = [
            EvalResult(
                task_type="text-classification",
                dataset_type=training.test_data,
                dataset_name=training.test_data,
                metric_type="accuracy",
                metric_value=training.accuracy,
            )
        ]
    data = ModelCardData(
        library_name="transformers",
        pipeline_tag="text-classification",
        tags=["word2vec", "text-classification", "static-embeddings"],
        license="other",
        model_name=model_id,
        eval_results=eval_results,
    )
    hashed = "words and word bigrams" if config.hashed_words else "word bigrams"
    bigrams = (
        f" and of its hashed {hashed} ({config.word_bigram_buckets:,} buckets)" if config.word_bigram_buckets else ""
    )
    head = (
        f"through a hidden layer of {config.classifier_hidden_size} into a linear layer"
        if config.classifier_hidden_size
        else "into a linear layer"
    )
    card = ModelCard.from_template(
        data,
        template_path=str(CLASSIFIER_CARD_TEMPLATE),
        model_id=model_id,
        vectors=training.vectors,
        bigrams=bigrams,
        head=head,
        labels=labels,
        frozen=config.freeze_embeddings,
        transformers_requirement=remote_code_transformers(),
        example=training.example.replace('"', "'"),
        train_data=training.train_data,
        train_count=training.train_count,
        settings=training.settings,
        test_data=training.test_data,
        test_count=training.test_count,
        accuracy=training.accuracy,
    )
    return ModelCard(str(card).rstrip("\n") + "\n")


def save_classifier_folder(
    model: Word2VecForSequenceClassification,
    tokenizer: PreTrainedTokenizerFast,
    output: str | Path,
    training: ClassifierTraining,
) -> Path:
    """Save the classifier, its tokenizer and card into `output`: the complete new folder or the old one as it
    was, even if the machine stops halfway (see `folders.atomic`)."""
    output = check_output_dir(output)

    def fill(staging: Path) -> None:
        model.save_pretrained(staging)
        # The tokenizer and modules.json as in any word2vec folder: sentence-transformers' StaticEmbedding reads the
        # word vectors (`embeddings`) from it too.
        write_companion_files(model, tokenizer, staging, output.name, card=False)
        (staging / CARD_FILE).write_text(str(build_classifier_card(model, output.name, training)))

    return replace_or_refuse(output, fill, lambda: f"the weights alone take {readable_size(weights_bytes(model))}")
