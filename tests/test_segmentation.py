"""Text written without spaces (Chinese, Japanese, Thai): segmented into words by the saved tokenizer itself."""

from __future__ import annotations

import itertools
import json
import random
import subprocess
import sys
from collections import Counter

import numpy as np
import pytest
from tokenizers import models

from word2vec_hub.conversion.convert import to_keyed_vectors
from word2vec_hub.evaluation.benchmarks import evaluate_word_analogies
from word2vec_hub.folders.model_folder import save_model_folder
from word2vec_hub.tokenization.segmentation import ScriptShares, resolve_segmentation, train_segmenting_tokenizer
from word2vec_hub.tokenization.word_level import TokenIds, split_words, tokens_of_words
from word2vec_hub.training.arguments import TrainingArguments
from word2vec_hub.training.corpus import TextCorpus
from word2vec_hub.training.trainer import train_word2vec

from .conftest import CHINESE_WORDS, LATIN_IN_CHINESE, chinese_lines

jieba = pytest.importorskip("jieba", reason="word discovery from jieba's dictionary needs jieba")


def distinct_words(lines: list[str]) -> tuple[list[str], list[int]]:
    counts = Counter(word for line in lines for word in split_words(line))
    return list(counts), list(counts.values())


@pytest.fixture(scope="module")
def segmenter():
    words, counts = distinct_words(chinese_lines())
    return train_segmenting_tokenizer(words, counts, min_count=2, discovery="jieba")


def test_mixed_chinese_english_digits_segment_into_words(segmenter):
    tokenizer, _ = segmenter
    encoding = tokenizer.encode("我们喜欢Python3和中文，2024年经济发展Linux")
    # NFKC turns the full-width comma into ","; nothing here is unknown.
    assert encoding.tokens == ["我们", "喜欢", "python3", "和", "中文", ",", "2024", "年", "经济", "发展", "linux"]
    assert tokenizer.token_to_id("[UNK]") not in encoding.ids
    assert isinstance(tokenizer.model, models.Unigram)


def ids_per_word(word_ids: TokenIds) -> list[list[int]]:
    """The ids of each word as a list of its own."""
    return [chunk.tolist() for chunk in np.split(word_ids.ids, np.cumsum(word_ids.lengths)[:-1])]


def test_training_tokens_are_the_saved_tokenizers(segmenter):
    tokenizer, word_ids = segmenter
    words, _ = distinct_words(chinese_lines())
    encoded = [encoding.ids for encoding in tokenizer.encode_batch(words, add_special_tokens=False)]
    assert ids_per_word(word_ids) == encoded
    vocab = tokenizer.get_vocab()
    tokens_per_word = tokens_of_words(tokenizer, words)
    assert ids_per_word(word_ids) == [[vocab[token] for token in tokens] for tokens in tokens_per_word]


@pytest.mark.parametrize(("min_count", "max_vocab"), [(3, None), (1, 40), (2, 150)])
def test_words_segmented_again_after_their_words_were_dropped_get_the_saved_tokenizers_ids(min_count, max_vocab):
    lines = [
        *chinese_lines(200, seed=3),
        "我们喜欢Python3和中文 rareword1 稀有的字饕餮",
        "xyz 经济发展很快 thereof there of",
    ]
    words, counts = distinct_words(lines)
    tokenizer, word_ids = train_segmenting_tokenizer(
        words, counts, min_count=min_count, max_vocab=max_vocab, discovery="jieba"
    )
    expected = [encoding.ids for encoding in tokenizer.encode_batch(words, add_special_tokens=False)]
    assert ids_per_word(word_ids) == expected
    # Ids by decreasing count, each word of the vocabulary used, none below min_count.
    occurrences = Counter()
    for ids, count in zip(expected, counts, strict=True):
        for index in ids:
            occurrences[index] += count
    in_vocabulary = [occurrences[index] for index in range(2, tokenizer.get_vocab_size())]
    assert in_vocabulary == sorted(in_vocabulary, reverse=True)
    assert min(in_vocabulary) >= min_count
    if max_vocab is not None:
        assert tokenizer.get_vocab_size() <= max_vocab + 2


def test_unseen_character_is_unknown_alone_not_its_whole_run(segmenter):
    tokenizer, _ = segmenter
    encoding = tokenizer.encode("中国饕经济发展")
    unk = tokenizer.token_to_id("[UNK]")
    assert encoding.ids == [
        tokenizer.token_to_id("中国"),
        unk,
        tokenizer.token_to_id("经济"),
        tokenizer.token_to_id("发展"),
    ]


def test_unknown_latin_word_is_cut_into_the_fewest_known_words(segmenter):
    tokenizer, _ = segmenter
    # Documented in tokenization/segmentation.py: the Unigram model that segments Chinese also sees Latin words.
    assert tokenizer.encode("linuxpython3").tokens == ["linux", "python3"]
    assert tokenizer.encode("zzz").ids == [tokenizer.token_to_id("[UNK]")]


@pytest.fixture(scope="module")
def trained_chinese(tmp_path_factory):
    folder = tmp_path_factory.mktemp("zh")
    corpus = folder / "corpus.txt"
    corpus.write_text("\n".join(chinese_lines(1500)) + "\n", encoding="utf-8")
    args = TrainingArguments(dim=16, epochs=1, min_count=3, progress=False, workers=1, device="cpu")
    result = train_word2vec(TextCorpus.from_files([str(corpus)]), args)
    output = folder / "model"
    save_model_folder(result.model, result.tokenizer, output, language=result.language)
    return result, corpus, output


def test_a_fresh_autotokenizer_counts_the_corpus_as_training_did(trained_chinese):
    result, corpus, folder = trained_chinese
    assert result.segmentation == "word"
    script = (
        "import json, sys\n"
        "from collections import Counter\n"
        "from transformers import AutoTokenizer\n"
        f"tokenizer = AutoTokenizer.from_pretrained({str(folder)!r}, trust_remote_code=True)\n"
        "counts = Counter()\n"
        f"for line in open({str(corpus)!r}, encoding='utf-8'):\n"
        "    counts.update(tokenizer(line.strip())['input_ids'])\n"
        "assert not any(name.startswith('word2vec_hub') for name in sys.modules)\n"
        "print(json.dumps(counts))\n"
    )
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    counts = {int(index): count for index, count in json.loads(completed.stdout.splitlines()[-1]).items()}
    stored = result.model.counts.numpy()
    unk = result.model.config.unk_token_id
    assert {index: int(stored[index]) for index in np.flatnonzero(stored) if index != unk} == {
        index: count for index, count in counts.items() if index != unk
    }


def test_the_cards_outline_of_a_segmenting_tokenizer_is_what_its_json_saves(segmenter):
    from word2vec_hub.folders.model_card import describe_vocabulary, tokenizer_outline
    from word2vec_hub.tokenization.word_level import wrap_tokenizer

    tokenizer, _ = segmenter
    saved = json.loads(tokenizer.to_str())
    outline = tokenizer_outline(wrap_tokenizer(tokenizer))
    assert outline == {key: saved[key] for key in ("normalizer", "pre_tokenizer")} | {"model": {"type": "Unigram"}}
    assert saved["model"]["type"] == "Unigram"
    assert describe_vocabulary(outline).startswith("a Unigram model that segments")


def test_model_card_says_chinese(trained_chinese):
    import yaml

    _, _, folder = trained_chinese
    front_matter = (folder / "README.md").read_text(encoding="utf-8").split("---")[1]
    assert yaml.safe_load(front_matter)["language"] == "zh"


def test_probe_words_come_from_the_vocabulary(trained_chinese):
    from word2vec_hub.commands.train import probe_words

    result, _, _ = trained_chinese
    probes = probe_words(result.model, skip=2)
    assert probes and all(word in result.model for word in probes)
    assert all(len(word) >= 2 for word in probes)


def test_analogies_on_the_ca8_format_equal_gensim(trained_chinese, tmp_path):
    result, _, _ = trained_chinese
    model = result.model
    words = [word for word in CHINESE_WORDS if word in model]
    rng = random.Random(1)
    lines = [": 第一节"]
    lines += [" ".join(rng.sample(words, 4)) for _ in range(60)]
    lines += [": 第二节", "我们 喜欢 不存在 中文"]
    lines += [" ".join(rng.sample(words, 4)) for _ in range(40)]
    path = tmp_path / "ca8_format.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    ours = evaluate_word_analogies(model, path)
    score, sections = to_keyed_vectors(model).evaluate_word_analogies(str(path))
    assert ours.accuracy == pytest.approx(score)
    assert ours.skipped == 1
    for section in sections[:-1]:
        assert ours.sections[section["section"]] == (len(section["correct"]), len(section["incorrect"]))


def test_japanese_and_thai_give_no_clause_sized_tokens():
    lines = [
        "東京に行きました。今日はとても暑いです。私は日本語を勉強しています。",
        "ภาษาไทยเป็นภาษาราชการของประเทศไทย วันนี้อากาศดีมาก",
    ] * 30
    words, counts = distinct_words(lines)
    shares = ScriptShares.of(words, counts)
    assert resolve_segmentation("auto", shares) == "word"
    tokenizer, word_ids = train_segmenting_tokenizer(words, counts, min_count=2, discovery="auto")
    tokens = {tokenizer.id_to_token(index) for index in word_ids.ids.tolist()}
    assert max(len(token) for token in tokens) <= 4
    assert len(tokens) > 10


def test_english_keeps_the_word_level_path_and_a_trace_of_chinese_is_cut_into_characters():
    english = ["the cat sat on the mat"] * 50
    assert resolve_segmentation("auto", ScriptShares.of(*distinct_words(english))) == "none"
    with_trace = [*english, "他说你好"]
    assert resolve_segmentation("auto", ScriptShares.of(*distinct_words(with_trace))) == "character"
    assert resolve_segmentation("auto", ScriptShares.of(*distinct_words(chinese_lines()))) == "word"


def test_evaluate_picks_the_chinese_benchmarks_for_a_chinese_model(trained_chinese, tmp_path):
    _, _, folder = trained_chinese
    # Benchmark files named as in the shared data, over words this small model knows.
    benchmarks = tmp_path / "shared" / "data" / "zh"
    benchmarks.mkdir(parents=True)
    pairs = [
        f"{first}\t{second}\t{index % 10}" for index, (first, second) in enumerate(itertools.pairwise(CHINESE_WORDS))
    ]
    (benchmarks / "wordsim240.txt").write_text("\n".join(pairs) + "\n", encoding="utf-8")
    for name in ("ca8_morphological", "ca8_semantic", "cwe_analogy"):
        (benchmarks / f"{name}.txt").write_text(f": {name}\n我们 喜欢 中文 经济\n", encoding="utf-8")
    completed = subprocess.run(
        [sys.executable, "-m", "word2vec_hub", "evaluate", str(folder), "--shared", str(tmp_path / "shared")],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    for name in ("wordsim240", "ca8_morphological", "ca8_semantic", "cwe_analogy"):
        assert name in completed.stdout


CHINESE_SENTENCES = ["我们喜欢学习中文", "中国经济发展很好，今天天气很好"]


def test_sentence_transformers_and_model2vec_segment_chinese_as_we_do(trained_chinese):
    sentence_transformers = pytest.importorskip("sentence_transformers", reason="sentence-transformers not installed")
    model2vec = pytest.importorskip("model2vec", reason="model2vec not installed")
    from word2vec_hub.modeling import Word2VecModel

    _, _, folder = trained_chinese
    ours = Word2VecModel.from_pretrained(folder).encode(CHINESE_SENTENCES).numpy()
    encoder = sentence_transformers.SentenceTransformer(str(folder), device="cpu")
    np.testing.assert_allclose(encoder.encode(CHINESE_SENTENCES), ours, rtol=1e-5, atol=1e-6)
    static = model2vec.StaticModel.from_pretrained(str(folder))
    np.testing.assert_allclose(static.encode(CHINESE_SENTENCES), ours, rtol=1e-5, atol=1e-6)


def test_train_command_on_chinese_probes_its_own_words_and_says_zh(tmp_path):
    corpus = tmp_path / "zh.txt"
    corpus.write_text("\n".join(chinese_lines(800)) + "\n", encoding="utf-8")
    completed = subprocess.run(
        [sys.executable, "-m", "word2vec_hub", "train", "--corpus", str(corpus), "--dim", "8", "--epochs", "1",
         "--min-count", "3", "--word-discovery", "jieba", "--no-progress", "--output", str(tmp_path / "model")],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    assert "not in the vocabulary" not in completed.stdout
    probed = [line.split(":")[0].strip() for line in completed.stdout.splitlines() if line.startswith("  ")]
    assert probed and set(probed) <= set(CHINESE_WORDS + [word.lower() for word in LATIN_IN_CHINESE])
    assert "language: zh" in (tmp_path / "model" / "README.md").read_text(encoding="utf-8")
