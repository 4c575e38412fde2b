"""Shared fixtures: an isolated Hugging Face environment per test and small models made here."""

from __future__ import annotations

import math
import os

# huggingface_hub reads this when imported: without it, uploads to the loopback Hub would try the Xet protocol.
os.environ["HF_HUB_DISABLE_XET"] = "1"
# The Triton kernels run under Triton's interpreter, on CPU tensors, so that CI without a GPU checks them. Triton
# reads this when it is first imported, which importing torch's model code does; TRITON_INTERPRET=0 pytest ...
# tests the compiled kernels on a CUDA machine.
os.environ.setdefault("TRITON_INTERPRET", "1")
# Idle OpenMP threads sleep instead of spinning: after the numba trainer has run in this process, its spinning
# threads otherwise take the cores from torch, and the downstream tests run many times slower.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import contextlib
import random
import subprocess
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

from word2vec_hub.folders.model_folder import save_model_folder
from word2vec_hub.modeling import Word2VecConfig, Word2VecModel
from word2vec_hub.shared_data import ENVIRONMENT_VARIABLE
from word2vec_hub.tokenization.word_level import empty_word_level_tokenizer, wrap_tokenizer
from word2vec_hub.training.arguments import TrainingArguments
from word2vec_hub.training.corpus import TextCorpus
from word2vec_hub.training.sampling import BlockWindows
from word2vec_hub.training.subword_rows import SubwordRows
from word2vec_hub.training.trainer import train_word2vec
from word2vec_hub.training.vocabulary import EncodedText, encode_corpus

REPO_ROOT = Path(__file__).resolve().parent.parent
# The first lines of a script run in a fresh process to prove that a model folder loads from its own code alone:
# none of our packages can be imported there.
WITHOUT_OUR_PACKAGES = """
import sys

OUR_PACKAGES = {"word2vec_hub", "modeling", "tokenization", "training", "sharing", "conversion", "evaluation",
                "downstream", "folders"}

class BlockOurPackages:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in OUR_PACKAGES:
            raise ImportError(f"{name} is blocked in this process")

sys.meta_path.insert(0, BlockOurPackages())
"""


def shared_file(relative: str) -> Path:
    """A file of the shared data ($WORD2VEC_SHARED, or ../shared beside this clone); a clear failure if missing."""
    path = Path(os.environ.get(ENVIRONMENT_VARIABLE) or REPO_ROOT.parent / "shared") / relative
    if not path.exists():
        pytest.fail(f"shared data file missing: {path} (set ${ENVIRONMENT_VARIABLE} or put shared/ beside the clone)")
    return path


def one_line_error(completed: subprocess.CompletedProcess) -> str:
    """The `error: ...` line of a command that refused its input: exit status 2, one such line, no traceback."""
    assert completed.returncode == 2, completed.stdout + completed.stderr
    assert "Traceback" not in completed.stderr
    lines = [line for line in completed.stderr.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1, completed.stderr
    return lines[0]


def encode_lines(lines: list[str], workdir: Path, tokenizer=None, **arguments) -> EncodedText:
    """`lines` through training's front end (`training.vocabulary.encode_corpus`), on one CPU worker: a vocabulary
    built as `TrainingArguments(**arguments)` say, or `tokenizer`'s, and the text encoded under it in `workdir`."""
    args = TrainingArguments(progress=False, workers=1, device="cpu", **arguments)
    Path(workdir).mkdir(parents=True, exist_ok=True)
    return encode_corpus(TextCorpus.from_text("\n".join(lines), name="lines"), args, workdir, tokenizer=tokenizer)


@pytest.fixture(autouse=True)
def isolated_hf_env(tmp_path_factory, monkeypatch):
    """Each test gets its own HF_HOME and HF_MODULES_CACHE, and never reaches for a hub."""
    home = tmp_path_factory.mktemp("hf_home")
    monkeypatch.setenv("HF_HOME", str(home))
    monkeypatch.setenv("HF_HUB_CACHE", str(home / "hub"))
    monkeypatch.setenv("HF_MODULES_CACHE", str(home / "modules"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    return home


def planted_corpus(num_pairs: int = 20, num_fillers: int = 100, sentences: int = 6000, seed: int = 0) -> list[str]:
    """Sentences in which the words `aN` and `bN` are interchangeable: each stands among the same topic words.

    Sentence k mixes topic words `tN_j` of a random topic N with random fillers and holds `aN` or `bN`. By the
    distributional hypothesis skip-gram must give `aN` and `bN` the most similar input vectors.
    """
    rng = random.Random(seed)
    fillers = [f"w{i}" for i in range(num_fillers)]
    lines = []
    for _ in range(sentences):
        topic = rng.randrange(num_pairs)
        words = rng.choices([f"t{topic}_{j}" for j in range(6)], k=5) + rng.choices(fillers, k=3)
        rng.shuffle(words)
        words.insert(rng.randrange(len(words) + 1), f"{rng.choice('ab')}{topic}")
        lines.append(" ".join(words))
    return lines


def scattered_corpus(lines: int = 300, seed: int = 0) -> str:
    """Ten words a line drawn from 50: a vocabulary small enough for a high learning rate to blow up."""
    rng = random.Random(seed)
    words = [f"w{i}" for i in range(50)]
    return "\n".join(" ".join(rng.choices(words, k=10)) for _ in range(lines)) + "\n"


def numba_thread_counts_at_each_call(monkeypatch, module, name: str) -> list[int]:
    """The list that the calling thread's numba thread count is appended to at each call of `module.name` from now
    on; skips where numba has one thread, whose counts cannot be told apart."""
    import numba

    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("numba has one thread here, so thread counts cannot be told apart")
    function, counts = getattr(module, name), []

    def recording(*arguments):
        counts.append(numba.get_num_threads())
        return function(*arguments)

    monkeypatch.setattr(module, name, recording)
    return counts


@contextlib.contextmanager
def a_callers_matplotlib() -> Iterator[None]:
    """Inside: matplotlib as a caller (a notebook) might have set it, the svg backend and one pyplot figure of its
    own; afterwards, a check that drawing left both as they were, then matplotlib as the test found it."""
    import matplotlib
    import matplotlib.pyplot as plt

    backend = matplotlib.get_backend()
    matplotlib.use("svg")  # not the Agg our drawing could have switched to
    plt.figure()
    try:
        yield
        assert matplotlib.get_backend() == "svg", "drawing switched the caller's backend"
        assert len(plt.get_fignums()) == 1, "drawing left pyplot figures behind, or closed the caller's"
    finally:
        plt.close("all")
        matplotlib.use(backend)


def planted_partner_hits(model) -> int:
    """How many `aN` have `bN` as the closest of all the `b` words."""
    hits = 0
    for topic in range(20):
        scores = [model.similarity(f"a{topic}", f"b{other}") for other in range(20)]
        hits += max(range(20), key=scores.__getitem__) == topic
    return hits


@pytest.fixture(scope="session")
def planted_lines() -> list[str]:
    return planted_corpus()


@pytest.fixture(scope="session")
def trained(planted_lines):
    """A model trained on the planted corpus (about 60k words), shared by the tests that only read it."""
    args = TrainingArguments(dim=32, epochs=5, min_count=5, sample=1e-3, seed=3, progress=False, device="cpu")
    return train_word2vec(TextCorpus.from_text("\n".join(planted_lines), name="planted"), args)


@pytest.fixture(scope="session")
def trained_folder(trained, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("models") / "planted-model"
    save_model_folder(trained.model, trained.tokenizer, folder)
    return folder


def handmade_model(vectors: dict[str, list[float]], with_context: bool = True) -> Word2VecModel:
    """A model whose words and input vectors are given exactly ([PAD]=0 and [UNK]=1 come first)."""
    words = ["[PAD]", "[UNK]", *vectors]
    tokenizer = wrap_tokenizer(
        empty_word_level_tokenizer(vocab={word: index for index, word in enumerate(words)}, split_punctuation=False)
    )
    dim = len(next(iter(vectors.values())))
    model = Word2VecModel(Word2VecConfig(vocab_size=len(words), hidden_size=dim, has_context_vectors=with_context))
    with torch.no_grad():
        model.embeddings[2:] = torch.tensor(list(vectors.values()), dtype=torch.float32)
        model.embeddings[:2] = 0
    model.set_tokenizer(tokenizer)
    return model


# The numba kernels' sigmoid, word2vec's and gensim's, in negative sampling and hierarchical softmax: an output row
# scoring |score| >= MAX_EXP gets no update, and otherwise the sigmoid is read from a table of SIGMOID_POINTS values
# spaced evenly from -MAX_EXP, at the point at or below the score.
MAX_EXP = 6.0
SIGMOID_POINTS = 1000


def table_sigmoid(score: float) -> float:
    """The sigmoid at the table's point at or below `score` (-MAX_EXP < score < MAX_EXP), word2vec.c's expTable."""
    spacing = 2 * MAX_EXP / SIGMOID_POINTS
    point = -MAX_EXP + math.floor((score + MAX_EXP) / spacing) * spacing
    return 1.0 / (1.0 + math.exp(-point))


def exact_sigmoid(score: float) -> float:
    return 1.0 / (1.0 + math.exp(-score))


def plain_output_update(hidden, rows_and_labels, rate, sigmoid=table_sigmoid):
    """word2vec's update of one example's output rows (each updated at once, in order) for the input `hidden`, with
    `sigmoid` (the numba kernels': word2vec's table; the model's loss: the exact one), and the rule that a row scoring
    |score| >= 6 is left alone. Returns (the gradient (times the rate) for the input,
    how many rows were trained, how many left alone)."""
    gradient = np.zeros_like(hidden)
    trained = skipped = 0
    for row, label in rows_and_labels:
        score = float(hidden @ row)
        if abs(score) >= MAX_EXP:
            skipped += 1
            continue
        step = np.float32((label - sigmoid(score)) * rate)
        gradient += step * row
        row += step * hidden
        trained += 1
    return gradient, trained, skipped


def word2vec_reference(
    embeddings, context, nodes, windows, outputs, negatives, tree, rates, mean=True, group=1
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None, float]:
    """word2vec.c's update (TrainModelThread), written plainly in float64 numpy, for examples taken `group` at a time.

    Example i has the input rows `windows[i]` (a list of ids: the input word of a skip-gram pair, the words of a
    CBOW window) and the output word `outputs[i]`. Its input vector h is their mean (`mean`) or sum. With `tree`
    (`HuffmanTree`), for each inner node on the output word's path: score = h . node, g = (1 - code - sigmoid(score))
    * rate, error += g * node, then node += g * h; then, with `negatives` (`[examples, negative]`), the same for the
    output word (label 1) and each negative (label 0; one equal to the output word skipped) in `context`. Last,
    every input row moves by the whole error (also under `mean`, as word2vec and gensim do).

    With group 1 this is word2vec example by example. A larger group takes each of these steps for its examples
    side by side (all read, then all write), as one program of the Triton kernels does. Returns the updated
    embeddings, context and nodes (None where given None) and the summed loss, -log sigmoid(+-score) per term.
    """
    embeddings = embeddings.astype(np.float64)
    context = None if context is None else context.astype(np.float64)
    nodes = None if nodes is None else nodes.astype(np.float64)
    loss = 0.0

    def step(table, examples, rows, labels, used, hidden, error):
        nonlocal loss
        vectors = table[rows]
        scores = (hidden * vectors).sum(1)
        gains = np.where(used, (labels - 1 / (1 + np.exp(-scores))) * rates[examples], 0.0)
        error += gains[:, None] * vectors
        np.add.at(table, rows, gains[:, None] * hidden)
        loss += np.where(used, np.log1p(np.exp(-(2 * labels - 1) * scores)), 0.0).sum()

    for first in range(0, len(outputs), group):
        examples = np.arange(first, min(first + group, len(outputs)))
        hidden = np.stack([embeddings[windows[i]].sum(0) / (len(windows[i]) if mean else 1) for i in examples])
        error = np.zeros_like(hidden)
        targets = np.asarray(outputs)[examples]
        if tree is not None:
            lengths = tree.lengths.numpy()[targets]
            for depth in range(lengths.max()):
                points = tree.points.numpy()[targets, depth]
                labels = 1.0 - tree.codes.numpy()[targets, depth]
                step(nodes, examples, points, labels, depth < lengths, hidden, error)
        if negatives is not None:
            for sample in range(negatives.shape[1] + 1):
                rows = targets if sample == 0 else negatives[examples, sample - 1]
                used = np.ones(len(examples), bool) if sample == 0 else rows != targets
                step(context, examples, rows, np.full(len(examples), float(sample == 0)), used, hidden, error)
        for row, example in enumerate(examples):
            np.add.at(embeddings, windows[example], error[row])
    return embeddings, context, nodes, loss


# fastText's subwords on a tiny vocabulary ([PAD], [UNK], then six words) whose n-grams (2 to 3 characters) hash
# into 11 rows: words share rows, and a word lists a row twice.
SUBWORD_WORDS = ["[PAD]", "[UNK]", "ab", "abc", "bca", "cab", "ba", "cc"]
SUBWORD_COUNTS = [0, 0, 40, 3, 9, 1, 25, 7]
SUBWORD_MIN_N, SUBWORD_MAX_N, SUBWORD_BUCKET = 2, 3, 11
# The same n-grams in 101 rows, where words share rows only through equal n-grams and no word lists a row twice:
# skip-gram's engines move a center's input by each pair's gradient, which is fastText's per-pair update exactly
# where no row is listed twice (docs/subwords.md, "Training").
SKIPGRAM_SUBWORD_BUCKET = 101
# The models the engines' subword updates are compared in: (cbow, cbow_mean, hs, negative).
SUBWORD_MODES = {
    "skipgram-ns": (False, True, False, 3),
    "skipgram-hs-ns": (False, True, True, 2),
    "cbow-mean-ns": (True, True, False, 3),
    "cbow-sum-hs-ns": (True, False, True, 2),
}


def subword_reference(tables, examples, rows_of, tree, rates, mean, group, simultaneous):
    """fastText's update written plainly in float64, for `examples` taken `group` at a time.

    `tables`: embeddings, ngrams, context (None without negatives), nodes (None without `tree`). Example i is
    `(inputs, outputs)`: its input words, and per output slot s the output word and its negatives, or None where the
    slot is empty (skip-gram: the window's context positions; CBOW: one slot, the center). Its input rows are each
    input word's own row and n-gram rows (`rows_of`, a row listed twice counted twice). For each slot in turn, as
    fastText's update does pair by pair: the input vector h is the mean (`mean`) or sum of the input rows, recomputed
    from the rows as the example's earlier slots moved them; the output word's path (nodes, label 1 - code) then the
    word (label 1) and each negative (label 0; one equal to the word skipped) score against h: g = (label -
    sigmoid(h . row)) * rate, error += g * row, row += g * h; then every input row moves by the slot's error
    (divided by the number of rows when summed, gensim's rule for CBOW).

    The group's examples take each of these steps side by side (all read, then all write, as one program of the
    Triton kernels does; group 1 is example by example), or with `simultaneous` every output step of the group
    reads the tables as the group found them and all its changes are summed (a batch of the torch engine). An
    example's input rows take its moves at the end of its group, the other examples' changes then; the example
    itself sees its own earlier slots' moves at once. Returns the tables and the summed loss, -log sigmoid(+-score)
    per term.
    """
    embeddings, ngrams, context, nodes = (None if table is None else table.astype(np.float64) for table in tables)
    inputs = (embeddings, ngrams)
    loss = 0.0
    for first in range(0, len(examples), group):
        members = range(first, min(first + group, len(examples)))
        input_rows = {x: [(0, w) for w in examples[x][0]] + [(1, r) for w in examples[x][0] for r in rows_of[w]]
                      for x in members}  # fmt: skip
        # Each example's own moves of its input rows so far in the group, by (input table, row).
        moved = {x: {} for x in members}
        changes = []
        for slot in range(max(len(examples[x][1]) for x in members)):
            live = [(x, examples[x][1][slot]) for x in members if examples[x][1][slot] is not None]
            hidden = {x: sum(inputs[table][row] + moved[x].get((table, row), 0.0) for table, row in input_rows[x])
                      / (len(input_rows[x]) if mean else 1) for x, _ in live}  # fmt: skip
            error = {x: np.zeros_like(hidden[x]) for x, _ in live}
            # The slot's steps in order, each the (example, table, row, label) of its examples that take it.
            steps = []
            if tree is not None:
                for depth in range(int(tree.lengths.max())):
                    steps.append([(x, nodes, int(tree.points[word, depth]), 1.0 - int(tree.codes[word, depth]))
                                  for x, (word, _) in live if depth < tree.lengths[word]])  # fmt: skip
            if context is not None:
                steps.append([(x, context, word, 1.0) for x, (word, _) in live])
                for k in range(len(live[0][1][1]) if live else 0):
                    steps.append([(x, context, negatives[k], 0.0) for x, (word, negatives) in live
                                  if negatives[k] != word])  # fmt: skip
            for terms in steps:
                for x, table, row, label in terms:
                    score = hidden[x] @ table[row]
                    gain = (label - 1 / (1 + np.exp(-score))) * rates[x]
                    error[x] += gain * table[row]
                    changes.append((table, row, gain * hidden[x]))
                    loss += np.log1p(np.exp(-(2 * label - 1) * score))
                if not simultaneous:
                    _apply_changes(changes)
            for x, _ in live:
                change = error[x] if mean else error[x] / len(input_rows[x])
                for table, row in input_rows[x]:
                    moved[x][table, row] = moved[x].get((table, row), 0.0) + change
        for x in members:
            changes.extend((inputs[table], row, change) for (table, row), change in moved[x].items())
        _apply_changes(changes)
    return embeddings, ngrams, context, nodes, loss


def _apply_changes(changes: list) -> None:
    """Adds each (table, row, change) and empties the list."""
    for table, row, change in changes:
        table[row] += change
    changes.clear()


def subword_bucket(cbow: bool) -> int:
    """The fixture's rows for a mode: CBOW's words list rows twice, skip-gram's do not."""
    return SUBWORD_BUCKET if cbow else SKIPGRAM_SUBWORD_BUCKET


def subword_tables(negative: int, hs: bool, dim: int = 5, seed: int = 0, bucket: int = SUBWORD_BUCKET):
    """Random embeddings, ngrams, context and nodes (None where not trained) for the tiny vocabulary, small enough
    that the torch engine's step bound leaves a batch's steps whole at rate 0.02 (a window's sum of 10 to 20 rows is
    the longest input vector)."""
    rng = np.random.default_rng(seed)
    vocab_size = len(SUBWORD_WORDS)
    embeddings = rng.normal(0, 0.15, (vocab_size, dim)).astype(np.float32)
    ngrams = rng.normal(0, 0.15, (bucket, dim)).astype(np.float32)
    context = rng.normal(0, 0.15, (vocab_size, dim)).astype(np.float32) if negative else None
    nodes = rng.normal(0, 0.15, (vocab_size - 1, dim)).astype(np.float32) if hs else None
    return embeddings, ngrams, context, nodes


def tiny_subword_rows(bucket: int = SUBWORD_BUCKET) -> tuple[SubwordRows, list[list[int]]]:
    """The tiny vocabulary's n-gram rows in `bucket` rows, as the engines take them and as a list per word."""
    rows = SubwordRows.from_words(SUBWORD_WORDS, SUBWORD_MIN_N, SUBWORD_MAX_N, bucket, without=(0, 1))
    rows_of = [rows.rows[rows.starts[w] : rows.starts[w + 1]].tolist() for w in range(len(SUBWORD_WORDS))]
    repeats = any(len(set(word_rows)) < len(word_rows) for word_rows in rows_of)
    assert repeats == (bucket == SUBWORD_BUCKET), "a word lists a row twice in SUBWORD_BUCKET rows only"
    shared = [row for row, users in Counter(r for word_rows in rows_of for r in set(word_rows)).items() if users > 1]
    assert shared, "words share rows"
    return rows, rows_of


def window_examples(windows: BlockWindows, window: int, cbow: bool, negatives: np.ndarray | None):
    """The reference's examples for a block's windows: skip-gram's center and its 2 * window context slots
    (`torch_engine.window_inputs`' order), or CBOW's window and its center; with each output word's negatives."""
    tokens = windows.tokens.tolist()
    examples = []
    spans = zip(windows.centers.tolist(), windows.starts.tolist(), windows.ends.tolist(), strict=True)
    for index, (center, start, end) in enumerate(spans):
        offsets = [*range(-window, 0), *range(1, window + 1)]
        positions = [center + offset for offset in offsets]
        if cbow:
            words = [tokens[at] for at in positions if start <= at < end]
            examples.append((words, [(tokens[center], [] if negatives is None else negatives[index].tolist())]))
        else:
            slots = [(tokens[at], [] if negatives is None else negatives[index, slot].tolist())
                     if start <= at < end else None for slot, at in enumerate(positions)]  # fmt: skip
            examples.append(([tokens[center]], slots))
    return examples


def assert_every_input_row_moved(before, after, examples, rows_of):
    """The gradient reached each input word's own row and every one of its n-gram rows."""
    inputs = {word for words, _ in examples for word in words}
    for word in inputs:
        assert not np.allclose(after[0][word], before[0][word]), f"the row of word {SUBWORD_WORDS[word]} did not move"
        for row in rows_of[word]:
            assert not np.allclose(after[1][row], before[1][row]), (
                f"n-gram row {row} of {SUBWORD_WORDS[word]} did not move"
            )
    assert all(rows_of[word] for word in inputs), "every input word has n-gram rows"


CHINESE_WORDS = [
    "我们",
    "喜欢",
    "学习",
    "中文",
    "经济",
    "发展",
    "中国",
    "电脑",
    "软件",
    "今天",
    "天气",
    "很好",
    "北京",
    "和",
    "年",
]
LATIN_IN_CHINESE = ["Python3", "Linux", "2024"]


def chinese_lines(count: int = 400, seed: int = 0) -> list[str]:
    """Sentences of common words written as Chinese is written, without spaces, with Latin words and digits
    inside and full-width punctuation."""
    rng = random.Random(seed)
    lines = []
    for _ in range(count):
        words = rng.choices(CHINESE_WORDS, k=6)
        words.insert(rng.randrange(7), rng.choice(LATIN_IN_CHINESE))
        words.insert(rng.randrange(1, 7), "，")
        lines.append("".join(words) + "。")
    return lines
