"""Writing a model folder atomically: a temporary folder beside the target, renamed into place when complete."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from transformers import PreTrainedTokenizerFast

from word2vec_hub.modeling import Word2VecModel
from word2vec_hub.sharing.model_card import write_model_card

# sentence-transformers reads this and builds a StaticEmbedding (mean of the `embeddings` rows) over tokenizer.json.
SENTENCE_TRANSFORMERS_MODULES = [
    {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.StaticEmbedding"}
]


class OutputError(ValueError):
    """The output folder cannot be written; the message says why."""


def check_output_dir(output: str | Path) -> Path:
    """Refuse, before any work is done, an output path we must not replace.

    An existing folder is replaced only if it is empty or holds a model (`config.json`); anything else is the
    user's data.
    """
    output = Path(output)
    if output.exists():
        if not output.is_dir():
            raise OutputError(f"--output {output} exists and is a file; choose a folder path")
        if any(output.iterdir()) and not (output / "config.json").exists():
            raise OutputError(
                f"--output {output} exists and is not a model folder (no config.json); choose another path or "
                "empty it, so that nothing of yours is overwritten"
            )
    parent = output.parent if str(output.parent) else Path(".")
    parent.mkdir(parents=True, exist_ok=True)
    if not os.access(parent, os.W_OK):
        raise OutputError(f"cannot write into {parent}: permission denied; choose another --output")
    return output


def save_model_folder(
    model: Word2VecModel,
    tokenizer: PreTrainedTokenizerFast,
    output: str | Path,
    language: str | None = None,
    extra_files: dict[str, str] | None = None,
    card: bool = True,
) -> Path:
    """Save model, tokenizer and model card into `output`: it is either the complete new folder or left as it was."""
    output = check_output_dir(output)
    staging = Path(tempfile.mkdtemp(prefix=f".{output.name}.", suffix=".partial", dir=output.parent))
    backup = None
    try:
        model.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        (staging / "modules.json").write_text(json.dumps(SENTENCE_TRANSFORMERS_MODULES, indent=2) + "\n")
        for name, content in (extra_files or {}).items():
            (staging / name).write_text(content)
        if card:
            write_model_card(model, staging, model_id=output.name, language=language)
        if output.exists():
            backup = Path(tempfile.mkdtemp(prefix=f".{output.name}.", suffix=".old", dir=output.parent))
            backup.rmdir()
            output.rename(backup)
        staging.rename(output)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        if backup is not None and backup.exists() and not output.exists():
            backup.rename(output)
        raise
    if backup is not None:
        shutil.rmtree(backup, ignore_errors=True)
    return output
