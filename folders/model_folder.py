"""Saving a model folder: the weights, config and code, the tokenizer, sentence-transformers' modules.json and the
card, written atomically where `checks.check_output_dir` allows."""

from __future__ import annotations

import json
from pathlib import Path

from transformers import PreTrainedTokenizerFast

from word2vec_hub.modeling import Word2VecModel
from word2vec_hub.modeling.modeling_word2vec import TABLE_MODULE_KEY
from word2vec_hub.modeling.tokenization_word2vec import Word2VecSubwordTokenizer
from word2vec_hub.resources import readable_size
from word2vec_hub.tokenization.word_level import wrap_tokenizer

from .checks import check_output_dir, replace_or_refuse
from .model_card import write_model_card

# sentence-transformers reads this and builds a StaticEmbedding (mean of the `embeddings` rows) over tokenizer.json.
SENTENCE_TRANSFORMERS_MODULES = [
    {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.StaticEmbedding"}
]


def save_model_folder(
    model: Word2VecModel,
    tokenizer: PreTrainedTokenizerFast,
    output: str | Path,
    language: str | None = None,
    extra_files: dict[str, str] | None = None,
    card: bool = True,
    table_dtype: str = "float32",
) -> Path:
    """Save model, tokenizer and model card into `output`: it is either the complete new folder or left as it was,
    even if the machine stops halfway (see `folders.atomic`). `table_dtype` ("float32", "float16", "bfloat16",
    "int8") is the dtype the tables are stored in (`Word2VecModel.save_pretrained`)."""
    output = check_output_dir(output)

    def fill(staging: Path) -> None:
        model.save_pretrained(staging, table_dtype=table_dtype)
        write_companion_files(model, tokenizer, staging, output.name, language, extra_files, card)

    return replace_or_refuse(
        output, fill, lambda: f"the weights alone take {readable_size(weights_bytes(model, table_dtype))}"
    )


# Bytes a value of the tables takes in model.safetensors, by `table_dtype`.
TABLE_VALUE_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2, "int8": 1}
STORED_TABLES = (TABLE_MODULE_KEY, "context")


def weights_bytes(model: Word2VecModel, table_dtype: str = "float32") -> int:
    """The bytes of the model's tensors as saved with the tables in `table_dtype` (int8's row scales included)."""
    total = sum(
        tensor.numel() * (TABLE_VALUE_BYTES[table_dtype] if name in STORED_TABLES else tensor.element_size())
        for name, tensor in model.state_dict().items()
    )
    return total + (model.config.vocab_size * 4 if table_dtype == "int8" else 0)


def write_companion_files(
    model: Word2VecModel,
    tokenizer: PreTrainedTokenizerFast,
    folder: Path,
    model_id: str,
    language: str | None = None,
    extra_files: dict[str, str] | None = None,
    card: bool = True,
) -> None:
    """What a model folder holds beside weights and config: the tokenizer (for a model with subwords, as the
    `Word2VecSubwordTokenizer` that gives unknown words their n-grams), sentence-transformers' modules.json,
    `extra_files` ({name: text}) and the model card."""
    config = model.config
    if config.bucket > 0 and not isinstance(tokenizer, Word2VecSubwordTokenizer):
        subwords = {"min_n": config.min_n, "max_n": config.max_n, "bucket": config.bucket}
        tokenizer = wrap_tokenizer(tokenizer.backend_tokenizer, subwords)
    tokenizer.save_pretrained(folder)
    (folder / "modules.json").write_text(json.dumps(SENTENCE_TRANSFORMERS_MODULES, indent=2) + "\n")
    for name, content in (extra_files or {}).items():
        (folder / name).write_text(content)
    if card:
        write_model_card(model, folder, model_id=model_id, language=language, tokenizer=tokenizer)


def save_config_and_code(model: Word2VecModel, folder: Path) -> None:
    """config.json and the model code, as `save_pretrained` writes them beside the weights."""
    from transformers.dynamic_module_utils import custom_object_save

    model.config.architectures = [type(model).__name__]
    model.config.dtype = "float32"
    custom_object_save(model, folder, config=model.config)
    model.config.save_pretrained(folder)
