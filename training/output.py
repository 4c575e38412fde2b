"""Saving a model folder: refused where the path holds something that is not ours, written atomically otherwise."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

from .atomic import recover_folder, replace_folder

if TYPE_CHECKING:
    # Only annotations: check_output_dir runs before the command imports torch and transformers.
    from transformers import PreTrainedTokenizerFast

    from word2vec_hub.modeling import Word2VecModel

# sentence-transformers reads this and builds a StaticEmbedding (mean of the `embeddings` rows) over tokenizer.json.
SENTENCE_TRANSFORMERS_MODULES = [
    {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.StaticEmbedding"}
]


class OutputError(ValueError):
    """The output folder cannot be written; the message says why."""


def check_output_dir(output: str | Path) -> Path:
    """Refuse, before any work is done, an output path we must not replace, and return the path to write.

    An existing folder is replaced only if it is empty or one of ours: a word2vec model folder (`config.json` with
    `model_type` "word2vec") or a training checkpoint. No option overrides this: anything else is the user's data.
    A symbolic link is followed, so that the link still leads to the new folder. A write to this path that a crash
    interrupted is finished or rolled back first.
    """
    output = Path(output)
    if output.is_symlink():
        output = output.resolve()
    recover_folder(output)
    if output.exists():
        if not output.is_dir():
            raise OutputError(f"{output} exists and is a file; choose a folder path")
        problem = not_ours(output)
        if problem:
            raise OutputError(
                f"{output} {problem}, so it is not replaced (nothing was changed); choose another output folder"
            )
    parent = output.parent if str(output.parent) else Path(".")
    parent.mkdir(parents=True, exist_ok=True)
    if not os.access(parent, os.W_OK):
        raise OutputError(f"cannot write into {parent}: permission denied; choose another output folder")
    return output


def not_ours(folder: Path) -> str | None:
    """Why an existing, non-empty folder is not one we may replace, or None if it is ours (or empty)."""
    if not any(folder.iterdir()):
        return None
    config_file = folder / "config.json"
    if not config_file.is_file():
        return "exists and is not a model folder (no config.json)"
    try:
        model_type = json.loads(config_file.read_text()).get("model_type")
    except (OSError, ValueError, AttributeError):
        return "exists and its config.json is not a model configuration"
    if model_type != "word2vec":
        return f"holds a model of type {model_type!r}, not a word2vec model"
    return None


def save_model_folder(
    model: Word2VecModel,
    tokenizer: PreTrainedTokenizerFast,
    output: str | Path,
    language: str | None = None,
    extra_files: dict[str, str] | None = None,
    card: bool = True,
) -> Path:
    """Save model, tokenizer and model card into `output`: it is either the complete new folder or left as it was,
    even if the machine stops halfway (see `training.atomic`)."""
    output = check_output_dir(output)

    def fill(staging: Path) -> None:
        model.save_pretrained(staging)
        write_companion_files(model, tokenizer, staging, output.name, language, extra_files, card)

    return replace_folder(output, fill)


def write_companion_files(
    model: Word2VecModel,
    tokenizer: PreTrainedTokenizerFast,
    folder: Path,
    model_id: str,
    language: str | None = None,
    extra_files: dict[str, str] | None = None,
    card: bool = True,
) -> None:
    """What a model folder holds beside weights and config: the tokenizer, sentence-transformers' modules.json,
    `extra_files` ({name: text}) and the model card."""
    from word2vec_hub.sharing.model_card import write_model_card

    tokenizer.save_pretrained(folder)
    (folder / "modules.json").write_text(json.dumps(SENTENCE_TRANSFORMERS_MODULES, indent=2) + "\n")
    for name, content in (extra_files or {}).items():
        (folder / name).write_text(content)
    if card:
        write_model_card(model, folder, model_id=model_id, language=language, tokenizer=tokenizer)
