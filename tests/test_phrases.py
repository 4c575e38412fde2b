"""Phrases: learnt as gensim's Phrases learns them, joined in training as the saved tokenizer joins them."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from collections import Counter

import numpy as np
import pytest

from word2vec_hub.folders.model_folder import save_model_folder
from word2vec_hub.tokenization.phrases import tokenizer_phrases
from word2vec_hub.training.arguments import TrainingArguments
from word2vec_hub.training.corpus import TextCorpus
from word2vec_hub.training.trainer import train_word2vec

from .conftest import REPO_ROOT, encode_lines, one_line_error

PLANTED_PHRASES = (("new", "york", "times"), ("new", "york"), ("los", "angeles"), ("prime", "minister"))


def phrase_corpus(sentences: int = 3000, seed: int = 0, decorated: bool = False) -> list[str]:
    """Random filler words with one planted phrase a line; the fillers also stand alone near the phrases' words
    ("new" and "york" apart), so that not every pair of neighbours is a phrase. `decorated`: the same text with
    capitals, punctuation, runs of spaces and tabs, and gensim-style underscores, which the tokenizer must read as
    training does."""
    rng = random.Random(seed)
    fillers = [f"filler{chr(97 + i // 26)}{chr(97 + i % 26)}" for i in range(200)]
    loose = ["new", "york", "times", "angeles", "minister"]
    lines = []
    for _ in range(sentences):
        words = rng.choices(fillers, k=10) + (rng.choices(loose, k=1) if rng.random() < 0.1 else [])
        rng.shuffle(words)
        position = rng.randrange(len(words) + 1)
        words[position:position] = rng.choice(PLANTED_PHRASES)
        if decorated:
            words = [
                rng.choice([word, word.capitalize(), f"({word}", f"{word},", f"{word}."])
                if rng.random() < 0.1
                else word
                for word in words
            ]
            separators = rng.choices([" ", "  ", "\t", "_"], weights=[20, 1, 1, 1], k=len(words) - 1)
            lines.append("".join(word + separator for word, separator in zip(words, [*separators, ""], strict=True)))
        else:
            lines.append(" ".join(words))
    return lines


def gensim_phrased_counts(lines: list[str], passes: int) -> Counter[str]:
    """How often each token occurs in `lines` after `passes` passes of gensim's Phrases (defaults: min_count 5,
    threshold 10), each learnt on the text the passes before joined, as gensim's documentation chains them."""
    from gensim.models.phrases import Phrases

    sentences = [line.split() for line in lines]
    for _ in range(passes):
        model = Phrases(sentences)
        sentences = [model[sentence] for sentence in sentences]
    return Counter(token for sentence in sentences for token in sentence)


@pytest.mark.parametrize("passes", [1, 2])
def test_phrased_text_is_gensims(tmp_path, passes):
    lines = phrase_corpus()
    text = encode_lines(lines, tmp_path, phrases=passes, min_count=1, sample=0)
    vocabulary = text.tokenizer.get_vocab()
    counts = Counter({token: int(text.encoded.counts[index]) for token, index in vocabulary.items()})
    expected = gensim_phrased_counts(lines, passes)
    assert +counts == expected
    assert ("new_york_times" in expected) == (passes == 2)


def test_tokenizer_keeps_the_phrases_training_joins(tmp_path):
    # "york times" scores as a phrase, but "new york" comes first wherever it stands: it is never joined.
    text = encode_lines(phrase_corpus(), tmp_path, phrases=1)
    assert set(tokenizer_phrases(text.tokenizer)) == {"new_york", "los_angeles", "prime_minister"}
    assert (text.phrases.learnt, text.phrases.kept) == (4, 3)


def test_tokenizer_ids_equal_the_training_encoding(tmp_path):
    lines = phrase_corpus(decorated=True)
    text = encode_lines(lines, tmp_path, phrases=2)
    tokenizer = text.tokenizer
    unk_id = tokenizer.token_to_id("[UNK]")
    by_tokenizer = [index for encoding in tokenizer.encode_batch(lines) for index in encoding.ids if index != unk_id]
    assert np.array_equal(np.array(by_tokenizer), text.encoded.read())
    vocabulary = tokenizer.get_vocab()
    assert np.count_nonzero(text.encoded.read() == vocabulary["new_york_times"]) > 100


def test_only_whole_words_separated_by_whitespace_join(tmp_path):
    text = encode_lines(phrase_corpus(), tmp_path, phrases=1, split_punctuation=True)
    tokenizer, vocabulary = text.tokenizer, text.tokenizer.get_vocab()
    joined = vocabulary["new_york"]
    assert tokenizer.encode("New  York,").ids[0] == joined
    assert tokenizer.encode("(new_york)").ids[1] == joined
    assert joined not in tokenizer.encode("new yorker").ids
    assert joined not in tokenizer.encode("new-york").ids


def test_phrases_are_in_tokenizer_json_for_a_fresh_process(tmp_path):
    args = TrainingArguments(dim=16, epochs=1, phrases=2, progress=False, workers=1, device="cpu")
    result = train_word2vec(TextCorpus.from_text("\n".join(phrase_corpus()), name="phrases"), args)
    folder = save_model_folder(result.model, result.tokenizer, tmp_path / "model")
    sentence = "The New York Times, and prime_minister in Los  Angeles"
    script = (
        "import json, sys\n"
        "from transformers import AutoTokenizer\n"
        "tokenizer = AutoTokenizer.from_pretrained(sys.argv[1], trust_remote_code=True)\n"
        "print(json.dumps(tokenizer(sys.argv[2])['input_ids']))\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", script, str(folder), sentence], capture_output=True, text=True, cwd=REPO_ROOT
    )
    assert completed.returncode == 0, completed.stderr
    ids = json.loads(completed.stdout)
    assert ids == result.tokenizer(sentence)["input_ids"]
    vocabulary = result.tokenizer.get_vocab()
    assert {vocabulary["new_york_times"], vocabulary["prime_minister"], vocabulary["los_angeles"]} <= set(ids)
    config = json.loads((folder / "config.json").read_text())
    assert (config["phrases"], config["phrase_min_count"], config["phrase_threshold"]) == (2, 5, 10.0)


def test_model_names_phrases_as_gensim_does(tmp_path):
    args = TrainingArguments(dim=16, epochs=1, phrases=1, progress=False, workers=1, device="cpu")
    model = train_word2vec(TextCorpus.from_text("\n".join(phrase_corpus()), name="phrases"), args).model
    row = model.word_id("new_york")
    assert model.index_to_key[row] == "new_york"
    assert model["new_york"].shape == (16,)
    assert model.word_id("New_York") == model.word_id("New York") == row
    neighbours = [word for word, _ in model.most_similar("los_angeles", topn=50)]
    assert "prime_minister" in neighbours
    assert not any(" " in word for word in neighbours)


def test_phrases_learnt_and_joined_in_steps_of_a_few_lines_give_what_one_step_gives(tmp_path, monkeypatch):
    lines = phrase_corpus(sentences=600)
    whole = encode_lines(lines, tmp_path / "whole", phrases=2)
    monkeypatch.setattr("word2vec_hub.training.phrases.WORDS_PER_ENCODE_STEP", 37)  # about 260 steps
    stepped = encode_lines(lines, tmp_path / "stepped", phrases=2)
    assert stepped.tokenizer.get_vocab() == whole.tokenizer.get_vocab()
    np.testing.assert_array_equal(stepped.encoded.read(), whole.encoded.read())
    np.testing.assert_array_equal(stepped.encoded.sentence_lengths, whole.encoded.sentence_lengths)
    np.testing.assert_array_equal(stepped.encoded.counts, whole.encoded.counts)
    assert whole.tokenizer.get_vocab()["new_york_times"]


def test_continued_training_joins_the_folders_phrases(tmp_path):
    args = TrainingArguments(dim=16, epochs=1, phrases=1, progress=False, workers=1, device="cpu")
    first = train_word2vec(TextCorpus.from_text("\n".join(phrase_corpus()), name="phrases"), args)
    again = encode_lines(phrase_corpus(seed=1), tmp_path, tokenizer=first.tokenizer.backend_tokenizer)
    assert np.count_nonzero(again.encoded.read() == first.tokenizer.get_vocab()["new_york"]) > 100


@pytest.mark.parametrize("threshold", [0.0, -1.0])
def test_a_phrase_threshold_not_above_zero_is_refused(threshold):
    with pytest.raises(ValueError, match="phrase_threshold must be above 0"):
        TrainingArguments(phrases=1, phrase_threshold=threshold)
    completed = subprocess.run(
        [sys.executable, str(REPO_ROOT / "scripts" / "train.py"), "--phrases", "--phrase-threshold", str(threshold)],
        capture_output=True,
        text=True,
    )
    assert "phrase_threshold must be above 0" in one_line_error(completed)


def test_a_phrase_inside_a_longer_word_hides_no_phrase_after_it(tmp_path):
    # "r c" and "consisting of" are phrases; in "or consisting of" the text "r c" stands inside "or consisting", where
    # it must not match (and so take "c" away from "consisting of"), as training does not join it there.
    rng = random.Random(0)
    fillers = [f"filler{index}" for index in range(100)]
    lines = [" ".join([*rng.choices(fillers, k=4), *phrase, *rng.choices(fillers, k=4)])
             for phrase in [("r", "c"), ("consisting", "of"), ("or",)] * 300]  # fmt: skip
    text = encode_lines(lines, tmp_path / "train", phrases=1)
    assert {"r_c", "consisting_of"} <= set(tokenizer_phrases(text.tokenizer))
    check = ["filler1 or consisting of filler2", "renew york", "r c"]
    by_training = encode_lines(check, tmp_path / "check", tokenizer=text.tokenizer).encoded.read()
    unk_id = text.tokenizer.token_to_id("[UNK]")
    by_tokenizer = [
        index for encoding in text.tokenizer.encode_batch(check) for index in encoding.ids if index != unk_id
    ]
    assert by_tokenizer == by_training.tolist()
    assert text.tokenizer.get_vocab()["consisting_of"] in by_tokenizer


def test_command_line_phrase_options_are_the_training_arguments():
    from word2vec_hub.cli import build_parser
    from word2vec_hub.commands.train import training_arguments

    def parsed(*options: str) -> TrainingArguments:
        return training_arguments(build_parser().parse_args(["train", *options]))

    assert parsed().phrases == 0
    assert parsed("--phrases").phrases == 1
    given = parsed("--phrases", "2", "--phrase-min-count", "3", "--phrase-threshold", "50")
    assert (given.phrases, given.phrase_min_count, given.phrase_threshold) == (2, 3, 50.0)
