"""Word-similarity and analogy scores equal gensim's evaluate_word_pairs and evaluate_word_analogies."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch
import yaml

from word2vec_hub.conversion.convert import to_keyed_vectors
from word2vec_hub.evaluation.benchmarks import EvaluationFileError, evaluate_word_analogies, evaluate_word_pairs

from .conftest import REPO_ROOT, handmade_model, shared_file

gensim = pytest.importorskip("gensim", reason="the comparison needs gensim")


@pytest.fixture(scope="module")
def benchmark_model():
    """Random vectors over the benchmarks' words in mixed case, minus a few words, so that skipping and
    case-insensitive lookups are exercised."""
    words = set()
    for line in shared_file("data/eval/wordsim353.tsv").read_text().splitlines():
        if line and not line.startswith("#"):
            words.update(line.split("\t")[:2])
    for line in shared_file("data/eval/questions-words.txt").read_text().splitlines():
        if not line.startswith(":"):
            words.update(line.split())
    ordered = sorted(words)
    ordered = [word for i, word in enumerate(ordered) if i % 17]
    ordered += [word.upper() for word in ordered[:40]]
    generator = torch.Generator().manual_seed(0)
    vectors = torch.randn(len(ordered), 16, generator=generator)
    # Plant some structure so that a few analogies are right.
    model = handmade_model({word: vector.tolist() for word, vector in zip(ordered, vectors, strict=True)})
    return model


@pytest.mark.parametrize("restrict_vocab", [300_000, 2_000])
def test_word_pairs_equal_gensim(benchmark_model, restrict_vocab):
    path = shared_file("data/eval/wordsim353.tsv")
    ours = evaluate_word_pairs(benchmark_model, path, restrict_vocab=restrict_vocab)
    pearson, spearman, oov_percent = to_keyed_vectors(benchmark_model).evaluate_word_pairs(
        str(path), restrict_vocab=restrict_vocab
    )
    assert ours.spearman == pytest.approx(spearman.statistic, abs=1e-6)
    assert ours.pearson == pytest.approx(pearson.statistic, abs=1e-6)
    assert ours.skipped_share * 100 == pytest.approx(oov_percent)
    assert ours.skipped > 0


@pytest.mark.parametrize("restrict_vocab", [300_000, 1_500])
def test_analogies_equal_gensim(benchmark_model, restrict_vocab):
    path = shared_file("data/eval/questions-words.txt")
    ours = evaluate_word_analogies(benchmark_model, path, restrict_vocab=restrict_vocab)
    score, sections = to_keyed_vectors(benchmark_model).evaluate_word_analogies(
        str(path), restrict_vocab=restrict_vocab
    )
    assert ours.accuracy == pytest.approx(score)
    total = sections[-1]
    assert (ours.correct, ours.incorrect) == (len(total["correct"]), len(total["incorrect"]))
    for section in sections[:-1]:
        right, wrong = ours.sections[section["section"]]
        assert (right, wrong) == (len(section["correct"]), len(section["incorrect"]))


def test_analogy_accuracy_counts_right_answers():
    model = handmade_model(
        {"man": [1.0, 0.0, 0.0], "woman": [1.0, 1.0, 0.0], "king": [1.0, 0.0, 1.0], "queen": [1.0, 1.0, 1.0],
         "prince": [0.0, 0.1, 1.0]}
    )  # fmt: skip
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "analogies.txt"
        path.write_text(": family\nman woman king queen\nman woman king prince\nman woman duke duchess\n")
        result = evaluate_word_analogies(model, path)
    assert (result.correct, result.incorrect, result.skipped) == (1, 1, 1)
    assert result.accuracy == 0.5


def test_malformed_files_name_the_line(tmp_path):
    model = handmade_model({"a": [1.0, 0.0], "b": [0.0, 1.0]})
    (tmp_path / "pairs.tsv").write_text("# comment\na\tb\t5.0\na b 3\n")
    with pytest.raises(EvaluationFileError, match=r"pairs\.tsv:3: expected 'word<TAB>word<TAB>score'"):
        evaluate_word_pairs(model, tmp_path / "pairs.tsv")
    (tmp_path / "q.txt").write_text("a b a b\n")
    with pytest.raises(EvaluationFileError, match="before the first ': section' line"):
        evaluate_word_analogies(model, tmp_path / "q.txt")


def test_evaluate_script_writes_the_results_into_the_card(model_folder_copy):
    completed = subprocess.run(
        [sys.executable, str(REPO_ROOT / "scripts" / "evaluate.py"), str(model_folder_copy), "--write-card"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    assert "wordsim353" in completed.stdout and "questions-words" in completed.stdout
    records = json.loads((model_folder_copy / "evaluation.json").read_text())
    assert [record["dataset"] for record in records] == ["wordsim353", "questions-words"]
    metadata = yaml.safe_load((model_folder_copy / "README.md").read_text().split("---")[1])
    metrics = [result["metrics"][0]["type"] for result in metadata["model-index"][0]["results"]]
    assert metrics == ["spearmanr", "accuracy"]
    assert np.isfinite([record["value"] for record in records]).all()


@pytest.fixture
def model_folder_copy(tmp_path):
    import shutil

    from word2vec_hub.modeling import Word2VecModel
    from word2vec_hub.training.output import save_model_folder

    source = handmade_model({"king": [1.0, 0.1], "queen": [0.9, 0.2], "man": [0.3, 0.9], "woman": [0.2, 1.0],
                             "tiger": [0.5, 0.5], "cat": [0.6, 0.4]})  # fmt: skip
    folder = tmp_path / "model"
    save_model_folder(source, source.tokenizer, folder)
    assert Word2VecModel.from_pretrained(folder).config.vocab_size == 8
    yield folder
    shutil.rmtree(folder, ignore_errors=True)
