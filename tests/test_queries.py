"""The KeyedVectors query set on Word2VecModel gives gensim's results on the same vectors, and refuses bad input."""

from __future__ import annotations

import sys

import pytest
import torch

from word2vec_hub import to_keyed_vectors

from .conftest import handmade_model

WORDS = 60
DIM = 8


@pytest.fixture(scope="module")
def model():
    """Random vectors of varied lengths: no ties, and unit-normalising changes the answers."""
    generator = torch.Generator().manual_seed(7)
    vectors = torch.randn(WORDS, DIM, generator=generator) * torch.rand(WORDS, 1, generator=generator).add(0.2)
    return handmade_model({f"w{index}": vector.tolist() for index, vector in enumerate(vectors)})


@pytest.fixture(scope="module")
def keyed(model):
    return to_keyed_vectors(model)


def assert_same_ranking(ours: list[tuple[str, float]], theirs: list[tuple[str, float]]) -> None:
    assert [word for word, _ in ours] == [word for word, _ in theirs]
    assert [score for _, score in ours] == pytest.approx([score for _, score in theirs], abs=1e-5)


@pytest.mark.parametrize(
    ("positive", "negative"), [(["w3"], []), (["w3", "w7"], ["w11"]), (["w3", "w7"], ["w11", "w2"]), ("w5", "w9")]
)
def test_most_similar_cosmul_ranks_as_gensims(model, keyed, positive, negative):
    assert_same_ranking(
        model.most_similar_cosmul(positive, negative, topn=7), keyed.most_similar_cosmul(positive, negative, topn=7)
    )


def test_most_similar_cosmul_searches_the_restrict_vocab_most_frequent_words(model, keyed):
    # gensim 4.4's most_similar_cosmul accepts restrict_vocab but searches every word: its ranking, cut to the
    # 30 most frequent words, is what restrict_vocab=30 means.
    frequent = set(keyed.index_to_key[:30])
    theirs = [pair for pair in keyed.most_similar_cosmul(["w3", "w7"], ["w41"], topn=WORDS) if pair[0] in frequent]
    ours = model.most_similar_cosmul(["w3", "w7"], ["w41"], topn=WORDS, restrict_vocab=30)
    assert_same_ranking(ours, theirs)


@pytest.mark.parametrize(
    "window", [{"restrict_vocab": 20}, {"clip_end": 25}, {"clip_start": 10, "clip_end": 40}, {"clip_start": 50}]
)
def test_most_similar_searches_the_words_gensims_clip_and_restrict_vocab_name(model, keyed, window):
    # The special tokens take rows 0 and 1: a window counted in rows instead of words would miss two words.
    ours = model.most_similar(["w3", "w40"], ["w8"], topn=WORDS, **window)
    assert_same_ranking(ours, keyed.most_similar(["w3", "w40"], ["w8"], topn=WORDS, **window))


def test_similar_by_word_key_and_vector_rank_as_gensims(model, keyed):
    assert_same_ranking(model.similar_by_word("w4", topn=5), keyed.similar_by_word("w4", topn=5))
    assert_same_ranking(model.similar_by_key("w4", topn=5), keyed.similar_by_key("w4", topn=5))
    vector = torch.randn(DIM, generator=torch.Generator().manual_seed(1))
    ours = model.similar_by_vector(vector, topn=5, restrict_vocab=30)
    assert_same_ranking(ours, keyed.similar_by_vector(vector.numpy(), topn=5, restrict_vocab=30))


def test_a_batch_of_queries_answers_as_each_query_alone(model, monkeypatch):
    words = [f"w{index}" for index in range(0, WORDS, 3)]
    singles = [model.similar_by_word(word, topn=4) for word in words]
    vectors = model[words]
    single_vectors = [model.similar_by_vector(vector, topn=4) for vector in vectors]
    # Three queries a product, so that the batch is split and the pieces put back in order.
    monkeypatch.setattr(sys.modules[type(model).__module__], "SCORES_PER_PRODUCT", 3 * (WORDS + 2))
    for batch, alone in (
        (model.similar_by_word(words, topn=4), singles),
        (model.similar_by_vector(vectors, topn=4), single_vectors),
    ):
        assert len(batch) == len(words)
        for ours, expected in zip(batch, alone, strict=True):
            assert_same_ranking(ours, expected)


def test_a_batch_never_returns_a_row_holding_nan():
    model = handmade_model({"a": [1.0, 0.0], "b": [float("nan"), 1.0], "c": [0.9, 0.1], "d": [0.0, 1.0]})
    answers = model.similar_by_vector(torch.tensor([[1.0, 0.0], [0.0, 1.0]]), topn=4)
    assert [[word for word, _ in answer] for answer in answers] == [["a", "c", "d"], ["d", "c", "a"]]


def test_doesnt_match_and_n_similarity_answer_as_gensim_leaving_unknown_words_out(model, keyed):
    for words in (["w1", "w2", "w3", "w4", "w5"], ["w10", "w20", "unknown", "w30"], ["w7", "w7", "w8", "w9"]):
        assert model.doesnt_match(words) == keyed.doesnt_match(words)
    for first, second in ((["w1", "w2"], ["w3"]), (["w1", "nowhere", "w5"], ["w6", "w7", "w8"])):
        assert model.n_similarity(first, second) == pytest.approx(float(keyed.n_similarity(first, second)), abs=1e-6)


def test_distance_and_distances_are_gensims(model, keyed):
    assert model.distance("w1", "w2") == pytest.approx(float(keyed.distance("w1", "w2")), abs=1e-6)
    others = ["w5", "w9", "w1"]
    assert model.distances("w1", others).tolist() == pytest.approx(keyed.distances("w1", others).tolist(), abs=1e-6)
    everything = model.distances("w1")
    assert everything.shape == (model.config.vocab_size,)
    assert everything[model.word_ids()].tolist() == pytest.approx(keyed.distances("w1").tolist(), abs=1e-6)
    vector = model["w3"] * 2
    assert model.distances(vector, others).tolist() == pytest.approx(keyed.distances(vector.numpy(), others), abs=1e-6)


@pytest.mark.parametrize(("word_a", "word_b"), [("w1", "w2"), ("w10", "w33"), ("w5", "w59")])
def test_closer_than_and_rank_are_gensims(model, keyed, word_a, word_b):
    assert model.closer_than(word_a, word_b) == keyed.closer_than(word_a, word_b)
    assert model.words_closer_than(word_a, word_b) == keyed.closer_than(word_a, word_b)
    assert model.rank(word_a, word_b) == keyed.rank(word_a, word_b)


def test_most_similar_to_given_and_relative_cosine_similarity_are_gensims(model, keyed):
    candidates = ["w2", "w9", "w17", "w33", "w48"]
    for word in ("w1", "w20", "w40"):
        assert model.most_similar_to_given(word, candidates) == keyed.most_similar_to_given(word, candidates)
    for topn in (1, 10):
        expected = float(keyed.relative_cosine_similarity("w1", "w2", topn))
        assert model.relative_cosine_similarity("w1", "w2", topn) == pytest.approx(expected, rel=1e-5)


def test_item_access_gives_the_vectors_gensim_gives(model, keyed):
    assert model["w3"].tolist() == keyed["w3"].tolist()
    assert model[["w3", "w5", "w3"]].tolist() == keyed[["w3", "w5", "w3"]].tolist()


@pytest.mark.parametrize("norm", [True, False])
def test_wmdistance_is_gensims(model, keyed, norm):
    pytest.importorskip("ot")
    documents = [
        (["w1", "w2", "w3"], ["w4", "w5"]),
        (["w1", "w1", "w2", "unknown"], ["w2", "w6", "w7", "w7", "w7"]),
        (["w9"], ["w9", "w9"]),
    ]
    for first, second in documents:
        expected = keyed.wmdistance(first, second, norm=norm)
        assert model.wmdistance(first, second, norm=norm) == pytest.approx(expected, abs=1e-6)


def test_wmdistance_without_pot_names_the_extra(model, monkeypatch):
    monkeypatch.setitem(sys.modules, "ot", None)
    with pytest.raises(ImportError, match=r"word2vec-hub\[wmd\]"):
        model.wmdistance(["w1"], ["w2"])


@pytest.mark.parametrize(
    "query",
    [
        lambda model: model.n_similarity(["nowhere", "nothing"], ["w1"]),
        lambda model: model.doesnt_match(["nowhere", "nothing"]),
        lambda model: model.wmdistance(["w1"], ["nowhere"]),
        lambda model: model.most_similar_cosmul(["nowhere"]),
        lambda model: model.similar_by_word(["w1", "nowhere"]),
        lambda model: model.closer_than("w1", "nowhere"),
        lambda model: model.most_similar_to_given("w1", ["w2", "nowhere"]),
        lambda model: model[["w1", "nowhere"]],
    ],
)
def test_a_query_of_unknown_words_raises_key_error_naming_them(model, query):
    with pytest.raises(KeyError, match="nowhere"):
        query(model)


@pytest.mark.parametrize("topn", [0, -3, 2.5, True])
@pytest.mark.parametrize(
    "query",
    [
        lambda model, topn: model.most_similar("w1", topn=topn),
        lambda model, topn: model.most_similar_cosmul("w1", topn=topn),
        lambda model, topn: model.similar_by_word(["w1", "w2"], topn=topn),
        lambda model, topn: model.similar_by_vector(model["w1"], topn=topn),
        lambda model, topn: model.relative_cosine_similarity("w1", "w2", topn=topn),
    ],
)
def test_topn_that_is_not_a_positive_whole_number_is_refused(model, query, topn):
    with pytest.raises(ValueError, match=f"topn must be .* got {topn}"):
        query(model, topn)


@pytest.mark.parametrize("words", [["w1"], ["w1", "nowhere"]])
def test_doesnt_match_refuses_fewer_than_two_known_words(model, words):
    with pytest.raises(ValueError, match="at least two known words"):
        model.doesnt_match(words)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (lambda model: model.n_similarity([], ["w1"]), "non-empty list"),
        (lambda model: model.most_similar_to_given("w1", []), "non-empty list"),
        (lambda model: model.most_similar("w1", restrict_vocab=-1), "restrict_vocab must be"),
        (lambda model: model.similar_by_vector(torch.ones(3)), r"8 values .* got shape \[3\]"),
        (lambda model: model.most_similar_cosmul(negative=["w1"]), "at least one positive"),
    ],
)
def test_malformed_queries_are_refused_with_the_reason(model, query, message):
    with pytest.raises(ValueError, match=message):
        query(model)


def test_evaluate_word_pairs_as_a_method_is_gensims_tied_scores_included(model, keyed, tmp_path):
    # Human scores with ties, and a pair with an unknown word: Spearman must rank ties as scipy does.
    lines = [f"w{index}\tw{index + 7}\t{index % 4}" for index in range(0, 40, 2)] + ["w1\tnowhere\t3"]
    path = tmp_path / "pairs.tsv"
    path.write_text("\n".join(lines) + "\n")
    ours = model.evaluate_word_pairs(path, restrict_vocab=50)
    (pearson, _), (spearman, _), oov_percent = keyed.evaluate_word_pairs(str(path), restrict_vocab=50)
    assert (ours.pearson, ours.spearman) == pytest.approx((pearson, spearman), abs=1e-6)
    assert ours.skipped_share * 100 == pytest.approx(oov_percent)


def test_evaluate_word_analogies_as_a_method_is_gensims(model, keyed, tmp_path):
    generator = torch.Generator().manual_seed(3)
    questions = torch.randint(0, WORDS, (60, 4), generator=generator).tolist()
    lines = [": first"] + [" ".join(f"w{index}" for index in row) for row in questions[:30]]
    lines += [": second"] + [" ".join(f"w{index}" for index in row) for row in questions[30:]]
    path = tmp_path / "questions.txt"
    path.write_text("\n".join(lines) + "\n")
    ours = model.evaluate_word_analogies(path, restrict_vocab=45)
    score, sections = keyed.evaluate_word_analogies(str(path), restrict_vocab=45)
    assert ours.accuracy == pytest.approx(score)
    assert ours.correct > 0
    expected = {section["section"]: (len(section["correct"]), len(section["incorrect"])) for section in sections}
    assert ours.sections == {name: counts for name, counts in expected.items() if name != "Total accuracy"}


def test_kept_row_norms_follow_in_place_edits_and_are_recomputed_after_a_data_write_is_announced():
    model = handmade_model({"a": [1.0, 0.0], "b": [0.0, 1.0], "c": [0.9, 0.1], "d": [0.1, 0.9]})
    assert [word for word, _ in model.most_similar("a", topn=3)] == ["c", "d", "b"]
    with torch.no_grad():
        model.embeddings[model.word_id("d")] = torch.tensor([2.0, 0.1])  # an in-place write bumps the version
    assert [word for word, _ in model.most_similar("a", topn=3)] == ["d", "c", "b"]
    with torch.no_grad():
        model.embeddings[model.word_id("c")] = torch.tensor([float("nan"), 1.0])
    assert [word for word, _ in model.most_similar("a", topn=3)] == ["d", "b"], "a row now NaN is no neighbour"
    model.embeddings.data[model.word_id("b")] = torch.tensor([30.0, 1.0])  # as training writes: no version bump
    model.forget_row_norms()
    assert model.most_similar("a", topn=1)[0] == ("b", pytest.approx(30 / 901**0.5))
    expected = torch.linalg.vector_norm(model.embeddings.detach(), dim=1).clamp_min(1e-12)
    torch.testing.assert_close(model.row_norms(), expected, rtol=0, atol=0, equal_nan=True)


def test_a_single_query_on_a_large_table_ranks_as_gensim_and_as_a_full_top_k():
    # Large enough that a single query searches a sample of its scores first (modeling_word2vec._largest).
    generator = torch.Generator().manual_seed(3)
    vectors = torch.randn(6000, 4, generator=generator)
    vectors[17] = float("nan")
    large = handmade_model({f"w{index}": vector.tolist() for index, vector in enumerate(vectors)})
    keyed = to_keyed_vectors(large)
    for word, topn in [("w3", 10), ("w40", 7), ("w5999", 1)]:
        assert_same_ranking(large.most_similar(word, topn=topn), keyed.most_similar(word, topn=topn))
    scores = large._cosines(large.get_vector("w3", norm=True)[None]).nan_to_num_(nan=float("-inf"))
    scores[0, [0, 1, large.word_id("w3")]] = float("-inf")
    expected = torch.topk(scores, 9, dim=1)
    assert [word for word, _ in large.most_similar("w3", topn=9)] == large.tokenizer.convert_ids_to_tokens(
        expected.indices[0].tolist()
    )
