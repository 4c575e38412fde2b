"""Training with fastText's subwords (`--subwords`): the numba kernel against the update written plainly, the
compiled n-gram hashing against the plain one, what a trained folder holds and gives unknown words, continuing
training from a folder, and the refusals."""

from __future__ import annotations

import itertools
import json
import os
import random
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

from word2vec_hub.folders.model_folder import save_model_folder
from word2vec_hub.modeling import Word2VecConfig, Word2VecModel
from word2vec_hub.modeling.modeling_word2vec import huffman_tree
from word2vec_hub.modeling.subwords import ngram_buckets
from word2vec_hub.tokenization.ngram_hashing import vocabulary_ngram_buckets
from word2vec_hub.training import numba_engine
from word2vec_hub.training.arguments import TrainingArguments
from word2vec_hub.training.callbacks import TrainerCallback
from word2vec_hub.training.corpus import CorpusError, TextCorpus
from word2vec_hub.training.sampling import SamplingTables, alias_table
from word2vec_hub.training.subword_rows import SubwordRows
from word2vec_hub.training.trainer import (
    SUBWORD_BYTES_PER_WORD,
    NotEnoughMemory,
    train_word2vec,
    training_memory_bytes,
)

from .conftest import (
    WITHOUT_OUR_PACKAGES,
    chinese_lines,
    one_line_error,
    plain_output_update,
)

# The kernel tests' vocabulary: [PAD], [UNK], then words 2..7; every negative is NOISE_WORD.
COUNTS = torch.tensor([0, 0, 40, 25, 12, 9, 5, 2])
NOISE_WORD = 7
BUCKET = 9
# Each word's n-gram rows, one listed twice (fastText keeps repeats), rows shared between words.
WORD_NGRAMS = [[], [], [0, 1, 1], [2, 3], [1, 4, 5, 6], [7], [8, 2], []]
# The same without the repeat, for skip-gram: the kernel moves a center's input by each pair's gradient, which is
# fastText's per-pair update exactly where no row is listed twice (docs/subwords.md, "Training").
SKIPGRAM_WORD_NGRAMS = [[], [], [0, 1], [2, 3], [1, 4, 5, 6], [7], [8, 2], []]


def plain_subword_training(
    sentence, word_ngrams, embeddings, ngrams, context, nodes, cbow, cbow_mean, hs, negative, rate
):  # fmt: skip
    """The common update rule (docs/subwords.md, "Training") over one sentence, window 1, every word kept, in plain
    numpy: skip-gram as fastText updates it, pair by pair: the center's input, the mean of its own and n-gram rows
    recomputed for each neighbour, predicts the neighbour, and every one of those rows takes the pair's gradient at
    once; CBOW's input is the neighbours' rows summed (divided by their number under cbow_mean), and each of those
    rows gets the gradient (divided by their number otherwise)."""
    tree = huffman_tree(COUNTS)

    def output_update(hidden, word):
        # The Huffman path, then negative sampling, as the kernels order them.
        gradient = np.zeros_like(hidden)
        if hs:
            length = int(tree.lengths[word])
            points, labels = tree.points[word, :length].tolist(), (1 - tree.codes[word, :length]).tolist()
            path = [(nodes[point], label) for point, label in zip(points, labels, strict=True)]
            gradient += plain_output_update(hidden, path, rate)[0]
        if negative:
            targets = [(context[word], 1.0)] + [(context[NOISE_WORD], 0.0)] * negative
            gradient += plain_output_update(hidden, targets, rate)[0]
        return gradient

    def word_rows(word):
        return [embeddings[word]] + [ngrams[row] for row in word_ngrams[word]]

    for i, word in enumerate(sentence):
        window = [sentence[j] for j in (i - 1, i + 1) if 0 <= j < len(sentence)]
        if cbow:
            rows = [row for other in window for row in word_rows(other)]
            hidden = np.sum(rows, axis=0, dtype=np.float32)
            if cbow_mean:
                hidden /= np.float32(len(rows))
            gradient = output_update(hidden, word)
            if not cbow_mean:
                gradient /= np.float32(len(rows))
            for other in window:
                for row in word_rows(other):
                    row += gradient
        else:
            for other in window:
                rows = word_rows(word)
                hidden = np.sum(rows, axis=0, dtype=np.float32) / np.float32(len(rows))
                gradient = output_update(hidden, other)
                for row in rows:
                    row += gradient


def run_subword_kernel(
    sentence, word_ngrams, embeddings, ngrams, context, nodes, cbow, cbow_mean, hs, negative, rate
):  # fmt: skip
    tables = SamplingTables.from_counts(COUNTS, [0, 1], sample=0.0, ns_exponent=0.75, huffman_ties="hashed")
    paths = (
        numba_engine.flat_paths(tables.huffman_tree)
        if hs
        else (np.zeros(9, np.int64), np.zeros(0, np.int32), np.zeros(0, np.float32))
    )
    starts = np.zeros(len(word_ngrams) + 1, np.int64)
    np.cumsum([len(rows) for rows in word_ngrams], out=starts[1:])
    rows = np.array([row for word_rows in word_ngrams for row in word_rows], np.int32)
    noise = numba_engine.packed_noise_table(alias_table(np.eye(8)[NOISE_WORD]))
    return numba_engine.train_block_subwords(
        np.asarray(sentence, dtype=np.int32), np.array([0, len(sentence)], np.int64), embeddings, ngrams, starts,
        rows, context, nodes, *paths, np.ones(8, np.float32), noise, 1, negative, cbow, cbow_mean, rate, rate, 0.0,
        0.0, np.array([1], np.uint64), 1,
    )  # fmt: skip


MODES = {
    "skipgram-ns": {"cbow": False, "cbow_mean": True, "hs": False, "negative": 2},
    "skipgram-hs": {"cbow": False, "cbow_mean": True, "hs": True, "negative": 0},
    "cbow-ns-mean": {"cbow": True, "cbow_mean": True, "hs": False, "negative": 2},
    "cbow-ns-sum": {"cbow": True, "cbow_mean": False, "hs": False, "negative": 2},
    "cbow-hs-ns": {"cbow": True, "cbow_mean": True, "hs": True, "negative": 1},
}


@pytest.mark.parametrize("mode", MODES)
def test_subword_kernel_applies_the_common_rule_and_reaches_every_ngram_row(mode):
    settings = MODES[mode]
    rng = np.random.default_rng(0)
    embeddings = rng.normal(0, 0.5, (8, 8)).astype(np.float32)
    embeddings[:2] = 0
    ngrams = rng.normal(0, 0.5, (BUCKET, 8)).astype(np.float32)
    context = rng.normal(0, 0.5, (8, 8)).astype(np.float32)
    nodes = rng.normal(0, 0.5, (7, 8)).astype(np.float32)
    before = [table.copy() for table in (embeddings, ngrams, context, nodes)]
    expected = [table.copy() for table in before]
    sentence = [2, 5, 3, 6, 2, 4]
    word_ngrams = WORD_NGRAMS if settings["cbow"] else SKIPGRAM_WORD_NGRAMS
    results = run_subword_kernel(sentence, word_ngrams, embeddings, ngrams, context, nodes, rate=0.1, **settings)
    plain_subword_training(sentence, word_ngrams, *expected, rate=0.1, **settings)
    names = ("embeddings", "ngrams", "context", "nodes")
    for name, table, reference in zip(names, (embeddings, ngrams, context, nodes), expected, strict=True):
        np.testing.assert_allclose(table, reference, rtol=1e-4, atol=1e-5, err_msg=name)
    # Every input row of the sentence's words moved: their own rows and each n-gram row.
    for word in set(sentence):
        assert not np.allclose(embeddings[word], before[0][word]), f"word {word}'s own row"
        for row in word_ngrams[word]:
            assert not np.allclose(ngrams[row], before[1][row]), f"n-gram row {row} of word {word}"
    assert np.array_equal(embeddings[[0, 1, 7]], before[0][[0, 1, 7]]), "rows of words outside the sentence"
    examples = len(sentence) if settings["cbow"] else 2 * (len(sentence) - 1)
    assert results[0, 2] == examples


WORDS = ["where", "naïve", "straße", "电脑桌", "日本語のテキスト", "a", "ab", "été", "x" * 40, "🙂ok"]


@pytest.mark.parametrize(("min_n", "max_n", "bucket"), [(3, 6, 2_000_000), (1, 1, 1000), (1, 3, 97), (2, 5, 10)])
def test_compiled_ngram_buckets_equal_the_plain_ones_on_ascii_non_ascii_and_han_words(min_n, max_n, bucket):
    starts, rows = vocabulary_ngram_buckets(WORDS, min_n, max_n, bucket)
    for index, word in enumerate(WORDS):
        expected = ngram_buckets(word, min_n, max_n, bucket)
        assert expected, word
        assert rows[starts[index] : starts[index + 1]].tolist() == expected, word


def test_subword_rows_leave_out_the_special_words():
    rows = SubwordRows.from_words(["[PAD]", "[UNK]", "where"], 3, 6, 1000, without=(0, 1, None))
    assert rows.counts().tolist() == [0, 0, len(ngram_buckets("where", 3, 6, 1000))]
    assert rows.starts.dtype == np.int64 and rows.rows.dtype == np.int32


STEMS = ["cat", "dog", "fish", "bird", "horse", "mouse", "snake", "tiger"]
SUFFIXES = ["ling", "ish", "hood", "ness", "ward"]


def held_out(stem_index: int) -> str:
    """The word of each stem that the affix corpus never holds."""
    return STEMS[stem_index] + SUFFIXES[stem_index % len(SUFFIXES)]


def affix_corpus(lines: int = 3000, seed: int = 0) -> TextCorpus:
    """Sentences about one stem each: words of that stem with various suffixes, its topic words and fillers. Each
    stem's `held_out` word never occurs, though its stem and suffix do (with other suffixes and stems)."""
    rng = random.Random(seed)
    text = []
    for _ in range(lines):
        stem = rng.randrange(len(STEMS))
        suffixes = [suffix for suffix in SUFFIXES if STEMS[stem] + suffix != held_out(stem)]
        words = [STEMS[stem] + rng.choice(suffixes) for _ in range(4)]
        words += [f"t{stem}x{rng.randrange(4)}" for _ in range(3)] + [f"w{rng.randrange(50)}" for _ in range(2)]
        rng.shuffle(words)
        text.append(" ".join(words))
    return TextCorpus.from_text("\n".join(text), name="affixes")


def subword_arguments(**changes) -> TrainingArguments:
    settings = dict(dim=24, epochs=4, min_count=3, subwords=True, bucket=20_000, seed=2, progress=False)
    return TrainingArguments(**{**settings, "device": "cpu", "backend": "numba", "workers": 1, **changes})


@pytest.fixture(scope="module")
def affix_run():
    return train_word2vec(affix_corpus(), subword_arguments())


@pytest.fixture(scope="module")
def affix_folder(affix_run, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("subwords") / "affix-model"
    save_model_folder(affix_run.model, affix_run.tokenizer, folder)
    return folder


@pytest.mark.parametrize("cbow", [False, True], ids=["skip-gram", "cbow"])
def test_an_unseen_word_made_of_seen_pieces_gets_a_vector_near_its_relatives(affix_run, cbow):
    model = train_word2vec(affix_corpus(), subword_arguments(cbow=True)).model if cbow else affix_run.model
    plain = train_word2vec(affix_corpus(), subword_arguments(subwords=False, cbow=cbow)).model
    near_own_stem = 0
    for stem_index in range(len(STEMS)):
        unseen = held_out(stem_index)
        assert unseen not in model and unseen not in plain
        # Our plain model has no vector for it: [UNK]'s zero row, and the queries refuse it.
        with pytest.raises(KeyError):
            plain.get_vector(unseen)
        other_suffix = SUFFIXES[(stem_index + 1) % len(SUFFIXES)]
        candidates = [stem + other_suffix for stem in STEMS if stem + other_suffix in model]
        scores = [model.similarity(unseen, candidate) for candidate in candidates]
        nearest = candidates[max(range(len(candidates)), key=scores.__getitem__)]
        near_own_stem += nearest.startswith(STEMS[stem_index])
    assert plain.embeddings[plain.config.unk_token_id].abs().sum() == 0
    assert near_own_stem >= len(STEMS) - 1, f"{near_own_stem} of {len(STEMS)} unseen words nearest their stem"


def test_the_model_holds_each_words_mean_of_its_own_and_its_ngram_rows():
    # A learning rate so small that the tables keep their initial values: the model's vector of a known word is then
    # the mean of its initial own row and initial n-gram rows, which a new model of the same config and seed draws.
    result = train_word2vec(affix_corpus(lines=300), subword_arguments(epochs=1, alpha=1e-9, min_alpha=1e-9))
    model = result.model
    torch.manual_seed(2)
    initial = Word2VecModel(Word2VecConfig.from_dict(model.config.to_dict()))
    assert torch.allclose(model.ngrams, initial.ngrams, atol=1e-7)
    bound = 1.0 / model.config.hidden_size
    assert initial.ngrams.abs().max() <= bound and initial.ngrams.abs().max() > 0.9 * bound, "fastText's range"
    table_buckets = model.ngram_buckets.tolist()
    for word in ("catish", "t3x1", "w7"):
        word_id = model.word_id(word)
        rows = [table_buckets.index(bucket) for bucket in ngram_buckets(word, 3, 6, model.config.bucket)]
        expected = (initial.embeddings[word_id] + initial.ngrams[rows].sum(0)) / (1 + len(rows))
        torch.testing.assert_close(model.get_vector(word), expected.detach(), rtol=0, atol=1e-6)


def test_the_saved_folder_reloads_the_composed_vectors_and_the_ngram_table(affix_run, affix_folder):
    model = affix_run.model
    loaded = Word2VecModel.from_pretrained(affix_folder)
    assert (loaded.config.bucket, loaded.config.min_n, loaded.config.max_n) == (20_000, 3, 6)
    assert torch.equal(loaded.embeddings, model.embeddings) and torch.equal(loaded.ngrams, model.ngrams)
    unseen = held_out(0)
    assert torch.equal(loaded.get_vector(unseen), model.get_vector(unseen))
    assert loaded.get_vector(unseen).abs().sum() > 0
    auto_map = json.loads((affix_folder / "tokenizer_config.json").read_text())["auto_map"]
    assert "Word2VecSubwordTokenizer" in json.dumps(auto_map)
    assert "subwords" in (affix_folder / "README.md").read_text()


def test_a_trained_folder_holds_only_the_ngram_rows_its_vocabulary_uses(affix_run, affix_folder):
    from safetensors import safe_open

    model = affix_run.model
    words = [model.index_to_key[word_id] for word_id in model.word_ids()]
    used = sorted({bucket for word in words for bucket in ngram_buckets(word, 3, 6, 20_000)})
    with safe_open(affix_folder / "model.safetensors", "pt") as tensors:
        assert tensors.get_tensor("ngram_buckets").tolist() == used
        assert tensors.get_slice("ngrams").get_shape() == [len(used), model.config.hidden_size]
    assert len(used) < 20_000 / 4, "a few n-grams of few words: a small share of the buckets"
    assert json.loads((affix_folder / "config.json").read_text())["ngram_rows"] == len(used)


def expanded_to_full(model: Word2VecModel) -> Word2VecModel:
    """`model` with its compact n-gram table written into a full one, zeros where it holds no row, saved as
    folders were before compact tables (no `ngram_buckets`)."""
    config = Word2VecConfig.from_dict({**model.config.to_dict(), "ngram_rows": None})
    full = Word2VecModel(config)
    full.load_state_dict({name: tensor for name, tensor in model.state_dict().items() if "ngram" not in name},
                         strict=False)  # fmt: skip
    full.ngrams.data.zero_()
    full.ngrams.data[model.ngram_buckets] = model.ngrams.detach()
    full.set_tokenizer(model.tokenizer)
    return full


def unknown_words_with_absent_and_held_buckets(model: Word2VecModel) -> list[str]:
    """Unseen words, each with an n-gram bucket the compact table lacks and one it holds."""
    held = set(model.ngram_buckets.tolist())
    words = [held_out(index) for index in range(len(STEMS))] + ["zebraling", "catqqhood"]
    for word in words:
        buckets = set(ngram_buckets(word, 3, 6, model.config.bucket))
        assert buckets - held and buckets & held, word
    return words


def test_an_unknown_words_vector_from_a_compact_table_equals_the_one_from_it_expanded_to_full_with_zeros(affix_run):
    model = affix_run.model
    full = expanded_to_full(model)
    unknown = unknown_words_with_absent_and_held_buckets(model)
    for word in unknown:
        # Summed in another order than over the full table: equal to float32 rounding.
        torch.testing.assert_close(model.get_vector(word), full.get_vector(word), rtol=0, atol=1e-6)
        assert model.get_vector(word).abs().sum() > 0
    # The model input the remote-code tokenizer gives: each unknown word's buckets, -1 padded.
    ids = torch.full((1, len(unknown)), model.config.unk_token_id)
    rows = [ngram_buckets(word, 3, 6, model.config.bucket) for word in unknown]
    subword_ids = torch.tensor([[row + [-1] * (max(map(len, rows)) - len(row)) for row in rows]])
    compact_output = model(ids, subword_ids=subword_ids).last_hidden_state
    torch.testing.assert_close(compact_output, full(ids, subword_ids=subword_ids).last_hidden_state, rtol=0, atol=1e-6)
    torch.testing.assert_close(compact_output[0], torch.stack([model.get_vector(word) for word in unknown]))


def test_a_full_folder_without_ngram_buckets_still_loads_and_gives_the_same_vectors(affix_run, tmp_path):
    from safetensors import safe_open

    model = affix_run.model
    save_model_folder(expanded_to_full(model), model.tokenizer, tmp_path / "full")
    with safe_open(tmp_path / "full" / "model.safetensors", "pt") as tensors:
        assert "ngram_buckets" not in tensors.keys()  # noqa: SIM118 (safe_open is not a container)
    # Folders saved before compact tables have no ngram_rows in config.json.
    config_file = tmp_path / "full" / "config.json"
    config = json.loads(config_file.read_text())
    assert config.pop("ngram_rows") is None
    config_file.write_text(json.dumps(config))
    loaded = Word2VecModel.from_pretrained(tmp_path / "full")
    assert loaded.ngram_buckets is None and loaded.ngrams.shape[0] == model.config.bucket
    for word in ["catish", "t3x1", *unknown_words_with_absent_and_held_buckets(model)]:
        torch.testing.assert_close(loaded.get_vector(word), model.get_vector(word), rtol=0, atol=1e-6)


def test_a_compact_table_of_no_rows_gives_unknown_words_zero_vectors():
    model = Word2VecModel(Word2VecConfig(vocab_size=3, hidden_size=4, bucket=10, ngram_rows=0))
    ids = torch.tensor([[1, 2]])
    output = model(ids, subword_ids=torch.tensor([[[3, 7], [-1, -1]]])).last_hidden_state
    assert not output[0, 0].any(), "the unknown word's buckets have no rows: zeros"
    torch.testing.assert_close(output[0, 1], model.embeddings[2].detach())


def test_a_shrunk_compact_folder_keeps_its_ngram_buckets_and_unknown_words_vectors(affix_run, affix_folder, tmp_path):
    from word2vec_hub.conversion.shrink import shrink_model_folder

    shrink_model_folder(affix_folder, tmp_path / "small", table_dtype="float16", max_vocab=20)
    small = Word2VecModel.from_pretrained(tmp_path / "small")
    assert small.config.vocab_size == 22
    assert torch.equal(small.ngram_buckets, affix_run.model.ngram_buckets)
    for word in unknown_words_with_absent_and_held_buckets(affix_run.model):
        torch.testing.assert_close(small.get_vector(word), affix_run.model.get_vector(word), rtol=1e-2, atol=1e-4)


def test_an_unseen_word_gets_a_vector_through_automodel_and_autotokenizer_alone(affix_run, affix_folder, tmp_path):
    unseen = held_out(3)
    completed = subprocess.run(
        [sys.executable, "-c", WITHOUT_OUR_PACKAGES + textwrap.dedent("""
            import json

            from transformers import AutoModel, AutoTokenizer

            model = AutoModel.from_pretrained(sys.argv[1], trust_remote_code=True)
            tokenizer = AutoTokenizer.from_pretrained(sys.argv[1], trust_remote_code=True)
            batch = tokenizer([sys.argv[2]], return_tensors="pt")
            vectors = model(**batch).last_hidden_state
            print(json.dumps({"ids": batch["input_ids"].tolist(), "vectors": vectors.tolist()}))
        """), str(affix_folder), f"catish {unseen}"],
        capture_output=True, text=True, timeout=300,
        env={**os.environ, "HF_MODULES_CACHE": str(tmp_path / "modules")},
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr[-3000:]
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    model = affix_run.model
    assert result["ids"][0][1] == model.config.unk_token_id
    expected = torch.stack([model.get_vector("catish"), model.get_vector(unseen)]).numpy()
    np.testing.assert_allclose(np.array(result["vectors"][0]), expected, rtol=0, atol=1e-6)
    assert np.abs(expected[1]).max() > 0


class StopAfterFirstEpoch(TrainerCallback):
    def on_epoch_end(self, state):
        state.should_training_stop = True


def test_callbacks_query_the_composed_vectors_as_trained_so_far(monkeypatch):
    monkeypatch.setattr("word2vec_hub.training.epochs.BLOCK_TOKENS", 4096)

    vectors = []

    class RecordVector(TrainerCallback):
        def on_block_end(self, state):
            vectors.append(state.model.get_vector("catish").clone())

    result = train_word2vec(affix_corpus(lines=1000), subword_arguments(epochs=1), callbacks=[RecordVector()])
    assert len(vectors) >= 3
    assert all(not torch.equal(earlier, later) for earlier, later in itertools.pairwise(vectors)), "moved each block"
    assert torch.equal(vectors[-1], result.model.get_vector("catish"))


def test_resuming_a_subword_run_from_its_folder_equals_the_uninterrupted_run(tmp_path, monkeypatch):
    """The checkpoint holds composed vectors; resuming recovers the own rows (composed x n_w - n-gram rows) and
    continues as the run that never stopped, to float32 rounding."""
    monkeypatch.setattr("word2vec_hub.training.epochs.BLOCK_TOKENS", 4096)
    corpus, args = affix_corpus(lines=1500), subword_arguments(epochs=2)
    uninterrupted = train_word2vec(corpus, args)
    stopped = train_word2vec(corpus, args, checkpoint_dir=tmp_path / "checkpoint", callbacks=[StopAfterFirstEpoch()])
    assert stopped.stopped_early
    checkpoint = Word2VecModel.from_pretrained(tmp_path / "checkpoint")
    assert torch.equal(checkpoint.embeddings, stopped.model.embeddings)
    resumed = train_word2vec(corpus, subword_arguments(), resume=tmp_path / "checkpoint")
    moved = (resumed.model.embeddings - checkpoint.embeddings).abs().max()
    assert moved > 1e-3, "the second epoch trained"
    torch.testing.assert_close(resumed.model.embeddings, uninterrupted.model.embeddings, rtol=0, atol=2e-5)
    torch.testing.assert_close(resumed.model.ngrams, uninterrupted.model.ngrams, rtol=0, atol=2e-5)


def test_init_from_a_subword_folder_continues_from_its_own_rows(affix_run, affix_folder):
    # At a learning rate too small to move anything, continuing must give back the folder's vectors: the own rows
    # are recovered (composed x n_w - n-gram rows), not taken to be the composed vectors, which would move each
    # vector towards its n-grams' rows.
    still = train_word2vec(
        affix_corpus(lines=300, seed=1), subword_arguments(epochs=1, alpha=1e-9, min_alpha=1e-9), init_from=affix_folder
    )
    torch.testing.assert_close(still.model.embeddings, affix_run.model.embeddings, rtol=0, atol=1e-5)
    # The n-gram settings left open are the folder's (20,000 rows, not the default 2,000,000).
    continued = train_word2vec(
        affix_corpus(lines=500, seed=1), subword_arguments(epochs=1, bucket=None), init_from=affix_folder
    )
    model = continued.model
    assert (model.config.bucket, model.config.min_n, model.config.max_n) == (20_000, 3, 6)
    assert not torch.equal(model.ngrams, affix_run.model.ngrams)
    assert model.get_vector(held_out(5)).abs().sum() > 0


@pytest.fixture(scope="module")
def grown(affix_folder):
    """`affix_folder` continued, at a rate too small to move anything, on lines of new words (`zebraling`, ...)."""
    lines = [f"zebra{suffix} t1x0 w3 zebra{suffix} t1x2" for suffix in SUFFIXES] * 5
    return train_word2vec(
        TextCorpus.from_text("\n".join(lines), name="zebras"),
        subword_arguments(epochs=1, alpha=1e-9, min_alpha=1e-9),
        init_from=affix_folder,
        grow_vocabulary=True,
    ).model


def test_a_grown_word_starts_from_its_ngram_rows_and_old_words_keep_their_vectors(affix_run, grown):
    old_rows = affix_run.model.config.vocab_size
    assert grown.config.vocab_size > old_rows and "zebraling" in grown
    torch.testing.assert_close(grown.embeddings[:old_rows], affix_run.model.embeddings, rtol=0, atol=1e-5)
    # A new word's own row starts small, as a new model's: its vector is near the mean of its (trained) n-grams.
    new_vector, from_ngrams = grown.get_vector("zebraling"), affix_run.model.get_vector("zebraling")
    assert torch.nn.functional.cosine_similarity(new_vector, from_ngrams, dim=0) > 0.9


def test_continuing_with_new_words_grows_the_compact_table_and_keeps_its_rows(affix_run, grown):
    old_buckets, old_rows = affix_run.model.ngram_buckets, affix_run.model.ngrams.detach()
    new_buckets = sorted(set(ngram_buckets("zebraling", 3, 6, 20_000)) - set(old_buckets.tolist()))
    assert new_buckets, "the new word brings buckets the table lacked"
    assert set(new_buckets) <= set(grown.ngram_buckets.tolist()) and set(old_buckets.tolist()) <= set(
        grown.ngram_buckets.tolist()
    )
    assert grown.config.ngram_rows == grown.ngrams.shape[0] == grown.ngram_buckets.shape[0] > len(old_buckets)
    assert torch.equal(grown.ngram_buckets, grown.ngram_buckets.sort().values)
    rows, held = grown.ngram_table_rows(old_buckets)
    assert held.all()
    torch.testing.assert_close(grown.ngrams.detach()[rows], old_rows, rtol=0, atol=1e-6)
    new_rows = grown.ngrams.detach()[grown.ngram_table_rows(torch.tensor(new_buckets))[0]]
    bound = 1.0 / grown.config.hidden_size
    assert new_rows.abs().max() <= bound and new_rows.abs().max() > 0.5 * bound, "drawn as a new model's rows"


def test_the_memory_check_counts_the_compact_tables_rows(affix_run, monkeypatch):
    monkeypatch.setattr("word2vec_hub.training.trainer.available_memory_bytes", lambda: 1)
    with pytest.raises(NotEnoughMemory, match=f"an n-gram table of {affix_run.model.ngrams.shape[0]:,} rows"):
        train_word2vec(affix_corpus(), subword_arguments())


@pytest.mark.parametrize(
    ("folder_subwords", "asked", "message"),
    [
        (False, {"subwords": True}, "has no subword vectors"),
        (True, {"subwords": False}, "has subword vectors"),
        (True, {"bucket": 1000}, "the model's n-grams are --min-n 3 --max-n 6 --bucket 20000"),
    ],
)
def test_init_from_refuses_a_folder_whose_subwords_differ(affix_folder, trained_folder, folder_subwords, asked,
                                                          message):  # fmt: skip
    folder = affix_folder if folder_subwords else trained_folder
    with pytest.raises(CorpusError, match=message):
        train_word2vec(affix_corpus(lines=200), subword_arguments(**asked), init_from=folder)


def test_resume_refuses_a_run_without_the_checkpoints_subwords(tmp_path):
    corpus = affix_corpus(lines=300)
    train_word2vec(
        corpus, subword_arguments(epochs=2), checkpoint_dir=tmp_path / "c", callbacks=[StopAfterFirstEpoch()]
    )
    with pytest.raises(CorpusError, match="resume with --subwords"):
        train_word2vec(corpus, TrainingArguments(progress=False), resume=tmp_path / "c")


def test_training_memory_counts_the_ngram_table_and_the_own_rows():
    plain = training_memory_bytes(1000, 100, "numba")
    with_subwords = training_memory_bytes(1000, 100, "numba", ngram_rows=50_000)
    assert with_subwords - plain == 50_000 * 100 * 4 + 1000 * 100 * 4 + 1000 * SUBWORD_BYTES_PER_WORD
    # No word long enough for an n-gram: no table, but the own rows all the same.
    no_ngrams = training_memory_bytes(1000, 100, "numba", ngram_rows=0)
    assert no_ngrams - plain == 1000 * 100 * 4 + 1000 * SUBWORD_BYTES_PER_WORD


def run_train(*arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "word2vec_hub", "train", "--no-progress", *arguments],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            ["--subwords", "--min-n", "5", "--max-n", "3"],
            "min_n (5) is above max_n (3): give --min-n no greater than --max-n",
        ),
        (["--subwords", "--bucket", "0"], "bucket (--bucket) must be at least 1, got 0; leave it out for fastText's"),
        (
            ["--subwords", "--init-from", "PLAIN"],
            "has no subword vectors (no n-gram table), but --subwords asks for them; continue it without --subwords",
        ),
        (
            ["--init-from", "SUBWORDS"],
            "has subword vectors (n-grams hashed into 20,000 buckets); continue it with --subwords",
        ),
    ],
)
def test_the_command_refuses_bad_subword_options_in_one_line_writing_nothing(
    arguments, message, tmp_path, trained_folder, affix_folder
):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("a b c\n" * 20)
    folders = {"PLAIN": str(trained_folder), "SUBWORDS": str(affix_folder)}
    arguments = [folders.get(argument, argument) for argument in arguments]
    completed = run_train("--corpus", str(corpus), "--output", str(tmp_path / "model"), *arguments)
    assert message in one_line_error(completed)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["corpus.txt"]


@pytest.mark.parametrize(
    ("given", "spaced", "segmented"),
    [({}, (3, 6), (1, 2)), ({"min_n": 3}, (3, 6), (3, 3)), ({"max_n": 4}, (3, 4), (1, 4)), ({"min_n": 2, "max_n": 5},
     (2, 5), (2, 5))],
)  # fmt: skip
def test_ngram_lengths_left_open_follow_the_text_and_never_cross_a_given_one(given, spaced, segmented):
    args = TrainingArguments(subwords=True, **given)
    assert (args.with_ngram_lengths(False).min_n, args.with_ngram_lengths(False).max_n) == spaced
    assert (args.with_ngram_lengths(True).min_n, args.with_ngram_lengths(True).max_n) == segmented


def test_subwords_default_to_fasttexts_learning_rate_and_decay_and_a_given_one_wins():
    assert (TrainingArguments().alpha, TrainingArguments().lr_schedule) == (0.025, "gensim")
    assert (TrainingArguments(subwords=True).alpha, TrainingArguments(subwords=True).lr_schedule) == (0.05, "linear")
    given = TrainingArguments(subwords=True, alpha=0.01, lr_schedule="gensim")
    assert (given.alpha, given.lr_schedule) == (0.01, "gensim")


def test_chinese_text_trains_character_ngrams_and_english_text_fasttexts(tmp_path):
    chinese = tmp_path / "zh.txt"
    chinese.write_text("\n".join(chinese_lines(300)) + "\n", encoding="utf-8")
    english = affix_corpus(lines=200)
    for corpus, lengths in ((TextCorpus.from_files([str(chinese)]), (1, 2)), (english, (3, 6))):
        model = train_word2vec(corpus, subword_arguments(epochs=1)).model
        assert (model.config.min_n, model.config.max_n) == lengths


def test_an_unseen_chinese_compound_gets_a_vector_near_the_words_sharing_its_characters():
    # Two topics of segmented words: appliances sharing 电 ("electric"), furniture sharing the suffix 子. 电灯
    # ("electric lamp") and 盒子 ("box") never occur, nor do 灯 and 盒: only their shared pieces are trained.
    rng = random.Random(5)
    appliances, furniture = ["电脑", "电视", "电话", "电池"], ["桌子", "椅子", "柜子", "箱子"]
    fillers = ["我们", "今天", "喜欢", "非常", "一个", "这里", "他们", "可以"]
    lines = []
    for _ in range(1500):
        topic = rng.choice((appliances, furniture))
        words = rng.choices(topic, k=5) + rng.choices(fillers, k=3)
        rng.shuffle(words)
        lines.append(" ".join(words))
    # The words as written: segmentation "none" keeps them whole, n-grams of one and two characters.
    args = subword_arguments(min_n=1, max_n=2, min_count=1, epochs=5, segmentation="none")
    model = train_word2vec(TextCorpus.from_text("\n".join(lines), "planted"), args).model
    assert "电灯" not in model and "盒子" not in model
    for unseen, relatives in (("电灯", appliances), ("盒子", furniture)):
        nearest = [word for word, _ in model.most_similar(unseen, topn=len(relatives))]
        assert sorted(nearest) == sorted(relatives), (unseen, nearest)
