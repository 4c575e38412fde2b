"""The installed package: one namespace, the `word2vec` command, instant start-up, shared data, old folders."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import textwrap
from importlib.metadata import requires
from pathlib import Path

import pytest
from packaging.requirements import Requirement

import word2vec_hub
from word2vec_hub.cli import COMMANDS
from word2vec_hub.modeling import Word2VecConfig, Word2VecModel
from word2vec_hub.shared_data import ENVIRONMENT_VARIABLE, shared_dir
from word2vec_hub.training.arguments import TrainingArguments

from .conftest import REPO_ROOT, WITHOUT_OUR_PACKAGES

HEAVY_MODULES = ("torch", "transformers", "numba", "datasets", "matplotlib", "numpy")
PREVIOUS_LAYOUT_MODEL = Path(__file__).parent / "fixtures" / "model-0.1.0"
# Folders saved by earlier releases: model.safetensors holds the flat names embeddings, context, counts.
EARLIER_RELEASE_MODELS = [PREVIOUS_LAYOUT_MODEL, Path(__file__).parent / "fixtures" / "model-0.2.0"]


def python(code: str, *arguments: str, cwd: Path | None = None, env: dict | None = None):
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *arguments],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=120,
    )


@pytest.mark.parametrize("command", [*COMMANDS, None])
def test_help_and_argument_errors_import_nothing_heavy(command, tmp_path):
    checked = python(
        f"""
        import sys
        from word2vec_hub.cli import run_command
        arguments = {[command] if command else []!r}
        for argv in (arguments + ["--help"], arguments + ["--no-such-option"]):
            try:
                run_command(argv)
            except SystemExit as exit:
                print("exit", exit.code)
        print("heavy", sorted(name for name in {HEAVY_MODULES!r} if name in sys.modules))
        """,
        cwd=tmp_path,
    )
    assert checked.returncode == 0, checked.stderr
    assert "exit 0\nexit 2\n" in checked.stdout
    assert "usage: word2vec" in checked.stderr and ": error: " in checked.stderr
    assert checked.stdout.strip().endswith("heavy []"), checked.stdout


def test_version_is_the_distribution_version(tmp_path):
    from importlib.metadata import version

    completed = subprocess.run(
        [sys.executable, "-m", "word2vec_hub", "--version"], capture_output=True, text=True, cwd=tmp_path
    )
    assert completed.returncode == 0
    assert completed.stdout == f"word2vec {version('word2vec-hub')}\n"
    assert word2vec_hub.__version__ == version("word2vec-hub")


def test_public_api_is_imported_on_first_use():
    checked = python(
        f"""
        import sys
        import word2vec_hub
        before = sorted(name for name in {HEAVY_MODULES!r} if name in sys.modules)
        model_class = word2vec_hub.Word2VecModel
        print(before, model_class.__module__, "torch" in sys.modules)
        """
    )
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.split() == ["[]", "word2vec_hub.modeling.modeling_word2vec", "True"]
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        word2vec_hub.nothing_here  # noqa: B018


def test_scripts_are_shims_over_the_same_command(tmp_path):
    for script, command in [(f"{name}.py", name) for name in COMMANDS if name != "classify"] + [
        ("classify_bbc.py", "classify")
    ]:
        completed = subprocess.run(
            [sys.executable, str(REPO_ROOT / "scripts" / script), "--help"], capture_output=True, text=True
        )
        assert completed.returncode == 0, completed.stderr
        assert completed.stdout.startswith(f"usage: word2vec {command} "), (script, completed.stdout[:80])


def test_training_defaults_agree_with_the_config_defaults():
    # Word2VecConfig lives in the self-contained modeling file, TrainingArguments in a torch-free module: both
    # state gensim's defaults, and a saved config must record what training used.
    defaults = TrainingArguments()
    for name in Word2VecConfig.training_hyperparameters:
        assert getattr(defaults, name) == getattr(Word2VecConfig, name), name
    assert defaults.dim == Word2VecConfig.hidden_size
    assert {field.name for field in dataclasses.fields(TrainingArguments)} >= set(
        Word2VecConfig.training_hyperparameters
    )


def test_shared_data_comes_from_the_environment_or_beside_the_clone(tmp_path, monkeypatch):
    monkeypatch.delenv(ENVIRONMENT_VARIABLE, raising=False)
    assert shared_dir("/somewhere/else") == Path("/somewhere/else")
    clone = tmp_path / "clone"
    (clone / "tests").mkdir(parents=True)
    (clone / "pyproject.toml").write_text('[project]\nname = "word2vec-hub"\n')
    monkeypatch.chdir(clone / "tests")
    assert shared_dir() == tmp_path / "shared"
    monkeypatch.setenv(ENVIRONMENT_VARIABLE, str(tmp_path / "mine"))
    assert shared_dir() == tmp_path / "mine"


def test_a_missing_shared_file_names_the_way_out(tmp_path, monkeypatch, capsys):
    from word2vec_hub.cli import run_command

    monkeypatch.setenv(ENVIRONMENT_VARIABLE, str(tmp_path / "nowhere"))
    assert run_command(["evaluate", str(PREVIOUS_LAYOUT_MODEL)]) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: ") and error.count("\n") == 1
    assert "data/eval/wordsim353.tsv not found" in error and ENVIRONMENT_VARIABLE in error


@pytest.mark.parametrize("folder", EARLIER_RELEASE_MODELS, ids=lambda folder: folder.name)
def test_a_folder_saved_by_an_earlier_release_loads_with_the_same_weights(folder):
    from safetensors.torch import load_file

    model, loading_info = Word2VecModel.from_pretrained(folder, output_loading_info=True)
    assert not loading_info["missing_keys"] and not loading_info["unexpected_keys"]
    saved = load_file(folder / "model.safetensors")
    for name in ("embeddings", "context", "counts"):
        assert getattr(model, name).equal(saved[name]), name
    assert model.config.vocab_size == 8 and len(model.most_similar("king", topn=6)) == 5


@pytest.mark.parametrize("folder", EARLIER_RELEASE_MODELS, ids=lambda folder: folder.name)
def test_a_folder_saved_by_an_earlier_release_loads_as_remote_code(tmp_path, folder):
    # Without this package: the folder's own modeling_word2vec.py, as that release wrote it.
    checked = python(
        WITHOUT_OUR_PACKAGES
        + textwrap.dedent("""
        import json

        from transformers import AutoModel, AutoTokenizer

        model = AutoModel.from_pretrained(sys.argv[1], trust_remote_code=True)
        tokenizer = AutoTokenizer.from_pretrained(sys.argv[1], trust_remote_code=True)
        ids = tokenizer(["king queen"], return_tensors="pt")["input_ids"]
        print(json.dumps([type(model).__name__, ids.tolist(), model(ids).last_hidden_state.shape[-1]]))
        """),
        str(folder),
        env={**os.environ, "HF_MODULES_CACHE": str(tmp_path / "modules")},
    )
    assert checked.returncode == 0, checked.stderr[-2000:]
    assert json.loads(checked.stdout.strip().splitlines()[-1]) == ["Word2VecModel", [[2, 3]], 4]


def test_the_finetune_extra_brings_accelerate_which_transformers_trainer_needs():
    requirements = [Requirement(line) for line in requires("word2vec-hub")]
    finetune = [r.name for r in requirements if r.marker is not None and r.marker.evaluate({"extra": "finetune"})]
    assert "accelerate" in finetune
