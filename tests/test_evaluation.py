"""Word-similarity and analogy scores equal gensim's evaluate_word_pairs and evaluate_word_analogies."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from word2vec_hub.conversion.convert import to_keyed_vectors
from word2vec_hub.evaluation.benchmarks import EvaluationFileError, evaluate_word_analogies, evaluate_word_pairs

from .conftest import REPO_ROOT, handmade_model, shared_file

gensim = pytest.importorskip("gensim", reason="the comparison needs gensim")


# Every fourth question of each section keeps gensim's side of the comparison to a few seconds.
QUESTION_STRIDE = 4
# restrict_vocab as a share of the fixture's vocabulary: small enough to skip many questions and drop answers.
RESTRICTED_SHARE = 0.6


@pytest.fixture(scope="module")
def analogy_file(tmp_path_factory) -> Path:
    lines = []
    for line in shared_file("data/eval/questions-words.txt").read_text().splitlines():
        if line.startswith(":"):
            lines.append(line)
            question = 0
            continue
        if question % QUESTION_STRIDE == 0:
            lines.append(line)
        question += 1
    path = tmp_path_factory.mktemp("eval") / "questions-words.txt"
    path.write_text("\n".join(lines) + "\n")
    return path


def planted_vectors(questions: Path, pairs: Path, generator: np.random.Generator, dim: int = 24) -> dict:
    """A vector for every word of the two files, in which the two pairs of each analogy differ by their section's
    offset plus noise: about two thirds of the analogies come out right, the rest wrong."""
    vectors: dict[str, np.ndarray] = {}
    for line in questions.read_text().splitlines():
        if line.startswith(":"):
            offset = generator.normal(size=dim)
            continue
        a, b, c, d = line.split()
        for source, target in ((a, b), (c, d)):
            if source not in vectors and target not in vectors:
                vectors[source] = generator.normal(size=dim)
            if target not in vectors:
                vectors[target] = vectors[source] + offset + generator.normal(size=dim)
            elif source not in vectors:
                vectors[source] = vectors[target] - offset + generator.normal(size=dim)
    for line in pairs.read_text().splitlines():
        if line and not line.startswith("#"):
            for word in line.split("\t")[:2]:
                vectors.setdefault(word, generator.normal(size=dim))
    return vectors


@pytest.fixture(scope="module")
def benchmark_model(analogy_file):
    """The planted vectors in a shuffled frequency order, with every 17th word missing, some words present only
    in another casing, and some in a second casing with a vector of its own, more or less frequent than the first
    (so which casing a case-insensitive lookup finds changes the scores)."""
    generator = np.random.default_rng(0)
    vectors = planted_vectors(analogy_file, shared_file("data/eval/wordsim353.tsv"), generator)
    words = list(vectors)
    generator.shuffle(words)
    ordered: dict[str, np.ndarray] = {}
    for index, word in enumerate(words):
        other_casing = word.swapcase()
        if index % 17 == 0:
            continue
        if index % 11 == 0 and other_casing not in vectors:
            ordered[other_casing] = vectors[word]
            continue
        ordered[word] = vectors[word]
        if index % 7 == 0 and other_casing not in vectors:
            ordered[other_casing] = generator.normal(size=vectors[word].shape)
    order = list(ordered)
    # The second casings of `index % 7` go to random places in the frequency order, before or after the first.
    for word in [word for word in order if word not in vectors]:
        order.remove(word)
        order.insert(int(generator.integers(len(order) + 1)), word)
    return handmade_model({word: ordered[word].tolist() for word in order})


def restricted_size(model) -> int:
    return int(RESTRICTED_SHARE * len(model.word_ids()))


@pytest.mark.parametrize("restricted", [False, True], ids=["whole-vocabulary", "restricted"])
def test_word_pairs_equal_gensim(benchmark_model, restricted):
    path = shared_file("data/eval/wordsim353.tsv")
    restrict_vocab = restricted_size(benchmark_model) if restricted else 300_000
    ours = evaluate_word_pairs(benchmark_model, path, restrict_vocab=restrict_vocab)
    pearson, spearman, oov_percent = to_keyed_vectors(benchmark_model).evaluate_word_pairs(
        str(path), restrict_vocab=restrict_vocab
    )
    assert ours.spearman == pytest.approx(spearman.statistic, abs=1e-6)
    assert ours.pearson == pytest.approx(pearson.statistic, abs=1e-6)
    assert ours.skipped_share * 100 == pytest.approx(oov_percent)
    assert ours.skipped > 0
    if restricted:
        whole = evaluate_word_pairs(benchmark_model, path)
        assert ours.pairs < whole.pairs - 50, "the restriction leaves out many pairs"


@pytest.mark.parametrize("restricted", [False, True], ids=["whole-vocabulary", "restricted"])
def test_analogies_equal_gensim(benchmark_model, analogy_file, restricted):
    restrict_vocab = restricted_size(benchmark_model) if restricted else 300_000
    ours = evaluate_word_analogies(benchmark_model, analogy_file, restrict_vocab=restrict_vocab)
    score, sections = to_keyed_vectors(benchmark_model).evaluate_word_analogies(
        str(analogy_file), restrict_vocab=restrict_vocab
    )
    assert min(ours.correct, ours.incorrect) >= 100, "the fixture has right and wrong answers in quantity"
    assert ours.accuracy == pytest.approx(score)
    total = sections[-1]
    assert (ours.correct, ours.incorrect) == (len(total["correct"]), len(total["incorrect"]))
    questions = sum(1 for line in analogy_file.read_text().splitlines() if not line.startswith(":"))
    assert ours.skipped == questions - ours.correct - ours.incorrect > 0
    for section in sections[:-1]:
        right, wrong = ours.sections[section["section"]]
        assert (right, wrong) == (len(section["correct"]), len(section["incorrect"]))


def test_restricted_analogies_search_only_the_most_frequent_words(benchmark_model, analogy_file, tmp_path):
    restrict_vocab = restricted_size(benchmark_model)
    rows = benchmark_model.word_ids()[:restrict_vocab]
    frequent_only = handmade_model(
        {benchmark_model.index_to_key[row]: benchmark_model.embeddings[row].tolist() for row in rows}
    )
    restricted = evaluate_word_analogies(benchmark_model, analogy_file, restrict_vocab=restrict_vocab)
    assert restricted == evaluate_word_analogies(frequent_only, analogy_file)

    # The same questions answered over the whole vocabulary, where a rarer word (or a rarer casing of the right
    # one) can come first: the fixture is one where the restriction changes answers.
    frequent = {benchmark_model.index_to_key[row].upper() for row in rows}
    answerable = [
        line
        for line in analogy_file.read_text().splitlines()
        if line.startswith(":") or all(word.upper() in frequent for word in line.split())
    ]
    (tmp_path / "questions-words.txt").write_text("\n".join(answerable) + "\n")
    whole = evaluate_word_analogies(benchmark_model, tmp_path / "questions-words.txt")
    assert restricted.correct + restricted.incorrect == whole.correct + whole.incorrect
    changed = sum(abs(restricted.sections[name][0] - whole.sections[name][0]) for name in whole.sections)
    assert changed >= 15


def test_analogy_accuracy_counts_right_answers():
    model = handmade_model(
        {"man": [1.0, 0.0, 0.0], "woman": [1.0, 1.0, 0.0], "king": [1.0, 0.0, 1.0], "queen": [1.0, 1.0, 1.0],
         "prince": [0.0, 0.1, 1.0]}
    )  # fmt: skip
    import tempfile

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

    from word2vec_hub.folders.model_folder import save_model_folder
    from word2vec_hub.modeling import Word2VecModel

    source = handmade_model({"king": [1.0, 0.1], "queen": [0.9, 0.2], "man": [0.3, 0.9], "woman": [0.2, 1.0],
                             "tiger": [0.5, 0.5], "cat": [0.6, 0.4]})  # fmt: skip
    folder = tmp_path / "model"
    save_model_folder(source, source.tokenizer, folder)
    assert Word2VecModel.from_pretrained(folder).config.vocab_size == 8
    yield folder
    shutil.rmtree(folder, ignore_errors=True)
