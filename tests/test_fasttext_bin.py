"""Converting fastText's binary models (`--from fasttext-bin`): the vectors the peers' own loaders give, and the
files that are refused."""

from __future__ import annotations

import json
import os
import platform
import struct
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest
import torch

from word2vec_hub.conversion.convert import convert_vector_file
from word2vec_hub.conversion.vector_files import VectorFileError
from word2vec_hub.modeling import Word2VecModel
from word2vec_hub.modeling.subwords import ngram_buckets

from .conftest import WITHOUT_OUR_PACKAGES, numba_thread_counts_at_each_call, one_line_error

# The word map of a converted folder cannot draw Han characters without a CJK font; that is not under test here.
pytestmark = pytest.mark.filterwarnings("ignore:no installed font:UserWarning")
# Non-ASCII words on purpose: fastText hashes bytes >= 0x80 as negative chars, and counts a UTF-8 character as one.
WORDS = ["the", "cat", "sat", "on", "mat", "café", "naïve", "电脑", "桌子", "running", "runner", "runs", "dog", "über"]


@pytest.fixture(scope="module")
def gensim_bin(tmp_path_factory):
    """A fastText .bin written by gensim's `save_facebook_model` (trained for real, so every row differs)."""
    from gensim.models import FastText
    from gensim.models.fasttext import save_facebook_model

    generator = np.random.default_rng(0)
    sentences = [list(generator.choice(WORDS, 12)) for _ in range(300)]
    model = FastText(
        sentences, vector_size=6, window=3, min_count=1, min_n=2, max_n=4, bucket=500, epochs=2, workers=1, seed=1
    )
    path = tmp_path_factory.mktemp("fasttext") / "model.bin"
    save_facebook_model(model, str(path))
    return path


def test_converted_vectors_equal_what_fasttext_and_gensim_load_from_the_bin_file(gensim_bin, tmp_path):
    import fasttext
    from gensim.models.fasttext import load_facebook_model

    report = convert_vector_file(gensim_bin, "fasttext-bin", tmp_path / "model")
    model = Word2VecModel.from_pretrained(tmp_path / "model")
    peer = fasttext.load_model(str(gensim_bin))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        gensim_vectors = load_facebook_model(str(gensim_bin)).wv
    assert report.words_kept == len(WORDS) and report.dimension == 6
    for word in WORDS:
        ours = model[word].numpy()
        np.testing.assert_allclose(ours, peer.get_word_vector(word), rtol=0, atol=1e-6)
        np.testing.assert_allclose(ours, gensim_vectors[word], rtol=0, atol=1e-6)
    # The n-gram rows matter: a word's own row alone is not its vector.
    own_row = gensim_vectors.vectors_vocab[gensim_vectors.key_to_index["running"]]
    assert np.abs(model["running"].numpy() - own_row).max() > 1e-3


def test_unknown_words_get_the_vectors_fasttext_gives_them_after_conversion(gensim_bin, tmp_path):
    import fasttext

    convert_vector_file(gensim_bin, "fasttext-bin", tmp_path / "model")
    model = Word2VecModel.from_pretrained(tmp_path / "model")
    peer = fasttext.load_model(str(gensim_bin))
    gensim_vectors = _load_with_gensim(gensim_bin).wv
    unseen = ["runners", "cafés", "电脑桌", "übermat", "dogcat"]
    assert not any(word in model for word in unseen)
    for word in unseen:
        np.testing.assert_allclose(model[word].numpy(), peer.get_word_vector(word), rtol=0, atol=1e-6)
        np.testing.assert_allclose(model[word].numpy(), gensim_vectors[word], rtol=0, atol=1e-6)
        assert model[word].abs().sum() > 0
    np.testing.assert_allclose(model[unseen].numpy(), np.stack([peer.get_word_vector(w) for w in unseen]), atol=1e-6)
    cosine = np.dot(peer.get_word_vector("runners"), peer.get_word_vector("running"))
    cosine /= np.linalg.norm(peer.get_word_vector("runners")) * np.linalg.norm(peer.get_word_vector("running"))
    assert model.similarity("runners", "running") == pytest.approx(cosine, abs=1e-5)

    # A query by an unknown word ranks the known ones by their cosine with its subword vector, as gensim's FastText
    # does; one with an unknown word among the negative ones too (gensim's mean of unit vectors, signed).
    def unit(word: str) -> np.ndarray:
        vector = peer.get_word_vector(word).astype(np.float64)
        return vector / np.linalg.norm(vector)

    for positive, negative in ((["runners"], []), (["running"], ["runners"])):
        query = sum(map(unit, positive)) - sum(map(unit, negative), np.zeros(6))
        query /= np.linalg.norm(query)
        known = [word for word in WORDS if word not in positive]
        expected = sorted(((word, float(unit(word) @ query)) for word in known), key=lambda pair: -pair[1])
        found = model.most_similar(positive=positive, negative=negative, topn=len(known))
        assert [word for word, _ in found] == [word for word, _ in expected]
        np.testing.assert_allclose([score for _, score in found], [score for _, score in expected], atol=1e-5)
    # encode: an unknown word counts with its subword vector, so this sentence is not the zero vector.
    sentence = model.encode("runners").flatten()
    np.testing.assert_allclose(sentence.numpy(), peer.get_word_vector("runners"), rtol=0, atol=1e-6)
    mixed = model.encode(["the runners", "the"])
    np.testing.assert_allclose(
        mixed[0].numpy(), (model["the"].numpy() + peer.get_word_vector("runners")) / 2, rtol=0, atol=1e-6
    )


def test_the_end_of_sentence_token_gets_fasttexts_vector_its_own_row(tmp_path):
    import fasttext
    from gensim.models import FastText
    from gensim.models.fasttext import save_facebook_model

    # fastText gives "</s>" (its end of line) no n-grams, where gensim's loader composes some.
    generator = np.random.default_rng(1)
    sentences = [[*generator.choice(WORDS, 10), "</s>"] for _ in range(200)]
    trained = FastText(sentences, vector_size=5, min_count=1, min_n=2, max_n=3, bucket=300, epochs=1, workers=1)
    save_facebook_model(trained, str(tmp_path / "model.bin"))
    convert_vector_file(tmp_path / "model.bin", "fasttext-bin", tmp_path / "model")
    model = Word2VecModel.from_pretrained(tmp_path / "model")
    peer = fasttext.load_model(str(tmp_path / "model.bin"))
    for word in ["</s>", *WORDS]:
        np.testing.assert_allclose(model[word].numpy(), peer.get_word_vector(word), rtol=0, atol=1e-6)
    own_row = trained.wv.vectors_vocab[trained.wv.key_to_index["</s>"]]
    np.testing.assert_allclose(model["</s>"].numpy(), own_row, rtol=0, atol=1e-6)


def test_max_vocab_keeps_the_most_frequent_words(gensim_bin, tmp_path):
    from gensim.models.fasttext import load_facebook_model

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        first = load_facebook_model(str(gensim_bin)).wv.index_to_key[:3]
    convert_vector_file(gensim_bin, "fasttext-bin", tmp_path / "model", max_vocab=3)
    model = Word2VecModel.from_pretrained(tmp_path / "model")
    assert list(model.index_to_key)[2:] == first


def _layout_offsets(path) -> dict[str, int]:
    """Where the version, the model kind, the dictionary and the input matrix of a .bin start."""
    data = path.read_bytes()
    offset = 8 + 12 * 4 + 8
    entries = struct.unpack_from("<i", data, offset)[0]
    dictionary = offset
    offset += 4 * 3 + 8 * 2
    for _ in range(entries):
        offset = data.index(b"\0", offset) + 1 + 9
    return {"version": 4, "model": 8 + 7 * 4, "dictionary": dictionary, "matrix": offset + 1}


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("magic", "is not a fastText .bin file"),
        ("version", "of version 13"),
        ("supervised", "is a supervised fastText model"),
        ("cut in the dictionary", "cut short inside its dictionary"),
        ("cut in the matrix", "is cut short: its input matrix needs"),
    ],
)
def test_a_file_that_is_not_an_unsupervised_fasttext_model_is_refused_in_one_line(
    gensim_bin, tmp_path, damage, message
):
    data = bytearray(gensim_bin.read_bytes())
    offsets = _layout_offsets(gensim_bin)
    if damage == "magic":
        data[:4] = struct.pack("<i", 30)
    elif damage == "version":
        data[4:8] = struct.pack("<i", 13)
    elif damage == "supervised":
        data[offsets["model"] : offsets["model"] + 4] = struct.pack("<i", 3)
    elif damage == "cut in the dictionary":
        data = data[: offsets["dictionary"] + 40]
    else:
        data = data[: offsets["matrix"] + 16 + 100]
    damaged = tmp_path / "damaged.bin"
    damaged.write_bytes(bytes(data))
    with pytest.raises(VectorFileError, match=message):
        convert_vector_file(damaged, "fasttext-bin", tmp_path / "model")
    assert not (tmp_path / "model").exists()
    completed = subprocess.run(
        [sys.executable, "-m", "word2vec_hub", "convert", str(damaged), "--from", "fasttext-bin", "--output",
         str(tmp_path / "model")],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert message in one_line_error(completed)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["damaged.bin"]


def test_an_unseen_word_gets_its_fasttext_vector_through_automodel_and_autotokenizer_alone(gensim_bin, tmp_path):
    import fasttext

    convert_vector_file(gensim_bin, "fasttext-bin", tmp_path / "model")
    # A fresh process without this package: only the code saved in the folder.
    completed = subprocess.run(
        [sys.executable, "-c", WITHOUT_OUR_PACKAGES + textwrap.dedent("""
            import json

            from transformers import AutoModel, AutoTokenizer, pipeline

            model = AutoModel.from_pretrained(sys.argv[1], trust_remote_code=True)
            tokenizer = AutoTokenizer.from_pretrained(sys.argv[1], trust_remote_code=True)
            batch = tokenizer(["the runners sat", "cat"], return_tensors="pt", padding=True)
            vectors = model(**batch).last_hidden_state
            extractor = pipeline("feature-extraction", model=sys.argv[1], trust_remote_code=True)
            print(json.dumps({"ids": batch["input_ids"].tolist(), "vectors": vectors.tolist(),
                              "pipeline": extractor("the runners sat")[0]}))
        """), str(tmp_path / "model")],
        capture_output=True, text=True, timeout=300,
        env={**os.environ, "HF_MODULES_CACHE": str(tmp_path / "modules")},
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr[-3000:]
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    model = Word2VecModel.from_pretrained(tmp_path / "model")
    peer = fasttext.load_model(str(gensim_bin))
    assert result["ids"][0][1] == model.config.unk_token_id and "runners" not in model
    expected = np.stack([model["the"].numpy(), peer.get_word_vector("runners"), model["sat"].numpy()])
    np.testing.assert_allclose(np.array(result["vectors"][0]), expected, rtol=0, atol=1e-6)
    np.testing.assert_allclose(np.array(result["pipeline"]), expected, rtol=0, atol=1e-6)
    # Padding stays zero; a known word keeps its row.
    np.testing.assert_allclose(np.array(result["vectors"][1][0]), model["cat"].numpy(), rtol=0, atol=1e-6)
    assert np.abs(np.array(result["vectors"][1][1:])).max() == 0


def test_subword_ids_beyond_the_ngram_table_are_refused(gensim_bin, tmp_path):
    import torch

    convert_vector_file(gensim_bin, "fasttext-bin", tmp_path / "model")
    model = Word2VecModel.from_pretrained(tmp_path / "model")
    ids = torch.tensor([[model.config.unk_token_id]])
    with pytest.raises(ValueError, match="beyond the n-gram table's 500 buckets"):
        model(ids, subword_ids=torch.tensor([[[3, 500]]]))


def test_a_shrunk_model_with_subwords_keeps_the_vectors_of_unknown_words(gensim_bin, tmp_path):
    import fasttext

    from word2vec_hub.conversion.shrink import shrink_model_folder

    convert_vector_file(gensim_bin, "fasttext-bin", tmp_path / "model")
    shrink_model_folder(tmp_path / "model", tmp_path / "small", table_dtype="float16", max_vocab=5)
    small = Word2VecModel.from_pretrained(tmp_path / "small")
    peer = fasttext.load_model(str(gensim_bin))
    assert small.config.vocab_size == 7 and small.config.table_dtype == "float16"
    for word in ["runners", WORDS[-1]]:
        np.testing.assert_allclose(small[word].numpy(), peer.get_word_vector(word), rtol=1e-2, atol=1e-3)
    with pytest.raises(ValueError, match="subword vectors"):
        shrink_model_folder(tmp_path / "model", tmp_path / "int8", table_dtype="int8")
    with pytest.raises(ValueError, match="--pca-dims is not available for a model with subword vectors"):
        shrink_model_folder(tmp_path / "model", tmp_path / "pca", pca_dims=3)
    assert not (tmp_path / "int8").exists() and not (tmp_path / "pca").exists()


def _load_with_gensim(path):
    from gensim.models.fasttext import load_facebook_model

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return load_facebook_model(str(path))


@pytest.fixture(scope="module")
def trained_subword_folder(tmp_path_factory):
    """A model trained here with subwords on WORDS' spaced words: its compact n-gram table holds only the buckets its
    words' n-grams hash to, fewer than its 500."""
    from word2vec_hub.folders.model_folder import save_model_folder
    from word2vec_hub.training.arguments import TrainingArguments
    from word2vec_hub.training.corpus import TextCorpus
    from word2vec_hub.training.trainer import train_word2vec

    generator = np.random.default_rng(0)
    spaced = [word for word in WORDS if not "\u4e00" <= word[0] <= "\u9fff"]
    text = "\n".join(" ".join(generator.choice(spaced, 12)) for _ in range(300))
    args = TrainingArguments(
        dim=6, window=3, min_count=1, epochs=2, subwords=True, min_n=2, max_n=4, bucket=500, seed=1,
        device="cpu", backend="numba", workers=1, progress=False,
    )  # fmt: skip
    result = train_word2vec(TextCorpus.from_text(text, name="words"), args)
    folder = tmp_path_factory.mktemp("trained") / "model"
    save_model_folder(result.model, result.tokenizer, folder)
    return folder


@pytest.mark.parametrize("folder_made", ["converted", "trained compact"])
def test_a_folder_written_back_as_fasttext_bin_gives_both_peers_our_vectors_for_known_and_unknown_words(
    folder_made, gensim_bin, trained_subword_folder, tmp_path
):
    import fasttext

    from word2vec_hub.conversion.convert import export_fasttext_bin

    if folder_made == "converted":
        convert_vector_file(gensim_bin, "fasttext-bin", tmp_path / "model")
        folder = tmp_path / "model"
    else:
        folder = trained_subword_folder
    model = Word2VecModel.from_pretrained(folder)
    export_fasttext_bin(model, tmp_path / "back.bin")
    peer = fasttext.load_model(str(tmp_path / "back.bin"))
    gensim_model = _load_with_gensim(tmp_path / "back.bin")
    words = [model.index_to_key[row] for row in model.word_ids()]
    assert peer.get_words() == words == gensim_model.wv.index_to_key
    assert (peer.get_dimension(), peer.f.getArgs().bucket, peer.f.getArgs().minn, peer.f.getArgs().maxn) == (
        6,
        500,
        2,
        4,
    )
    unknown = ["runners", "cafés", "电脑桌", "übermat", "dogcat"]
    for word in WORDS + unknown:
        ours = model[word].numpy()
        np.testing.assert_allclose(peer.get_word_vector(word), ours, rtol=0, atol=1e-6)
        np.testing.assert_allclose(gensim_model.wv[word], ours, rtol=0, atol=1e-6)
    # The rows written are the words' own rows, not the composed vectors the folder holds.
    assert np.abs(gensim_model.wv.vectors_vocab - model.embeddings.detach()[2:].numpy()).max() > 1e-3
    written_ngrams = peer.get_input_matrix()[len(words) :]
    if folder_made == "converted":
        original = _load_with_gensim(gensim_bin).wv
        assert words == original.index_to_key
        np.testing.assert_allclose(gensim_model.wv.vectors_vocab, original.vectors_vocab, rtol=0, atol=1e-5)
        np.testing.assert_array_equal(written_ngrams, model.ngrams.detach().numpy())
    else:
        # The compact table is written full: its rows at their buckets, zeros elsewhere, as our model reads them.
        assert model.ngram_buckets is not None and 0 < model.ngrams.shape[0] < 500
        expected = np.zeros((500, 6), dtype=np.float32)
        expected[model.ngram_buckets.numpy()] = model.ngrams.detach().numpy()
        np.testing.assert_array_equal(written_ngrams, expected)
        held = set(model.ngram_buckets.tolist())
        assert any(set(ngram_buckets(word, 2, 4, 500)) - held for word in unknown), "an unknown word reads zero rows"


def test_continuing_a_converted_folder_keeps_its_full_ngram_table(gensim_bin, tmp_path):
    from word2vec_hub.training.arguments import TrainingArguments
    from word2vec_hub.training.corpus import TextCorpus
    from word2vec_hub.training.trainer import train_word2vec

    convert_vector_file(gensim_bin, "fasttext-bin", tmp_path / "model")
    converted = Word2VecModel.from_pretrained(tmp_path / "model")
    args = TrainingArguments(
        dim=6, min_count=1, epochs=1, sample=0, subwords=True, seed=1, device="cpu", backend="numba", workers=1,
        progress=False,
    )  # fmt: skip
    continued = train_word2vec(
        TextCorpus.from_text("\n".join(["the cat sat on the mat running"] * 50), name="cats"),
        args,
        init_from=tmp_path / "model",
    ).model
    assert continued.ngram_buckets is None and continued.config.ngram_rows is None
    assert continued.ngrams.shape == converted.ngrams.shape == (500, 6)
    assert not torch.equal(continued.ngrams, converted.ngrams), "trained"


def test_a_model_without_subwords_is_written_with_no_ngram_table_its_counts_and_its_context_vectors(trained, tmp_path):
    import fasttext

    from word2vec_hub.conversion.convert import export_fasttext_bin

    model = trained.model
    export_fasttext_bin(model, tmp_path / "plain.bin")
    peer = fasttext.load_model(str(tmp_path / "plain.bin"))
    words, counts = peer.get_words(include_freq=True)
    rows = model.word_ids()
    assert words == [model.index_to_key[row] for row in rows]
    assert counts.tolist() == model.counts[rows].tolist()
    assert (peer.f.getArgs().bucket, peer.f.getArgs().maxn) == (0, 0)
    np.testing.assert_allclose(peer.get_input_matrix(), model.embeddings.detach()[rows].numpy(), rtol=0, atol=0)
    np.testing.assert_allclose(peer.get_output_matrix(), model.context.detach()[rows].numpy(), rtol=0, atol=0)
    # No subwords: an unknown word has no vector in either peer, as in the model.
    assert not peer.get_word_vector("zzzunseen").any()
    gensim_vectors = _load_with_gensim(tmp_path / "plain.bin").wv
    for word in words[:50]:
        np.testing.assert_array_equal(gensim_vectors[word], model[word].numpy())


def test_writing_fasttext_bin_refuses_an_existing_file_unless_overwrite_and_never_leaves_half_a_file(
    gensim_bin, tmp_path, monkeypatch
):
    import fasttext

    from word2vec_hub.conversion import fasttext_bin
    from word2vec_hub.conversion.convert import export_fasttext_bin

    convert_vector_file(gensim_bin, "fasttext-bin", tmp_path / "model")
    existing = tmp_path / "model.bin"
    existing.write_bytes(b"the user's own file")
    command = [sys.executable, "-m", "word2vec_hub", "convert", str(tmp_path / "model"), "--to", "fasttext-bin",
               "--output", str(existing)]  # fmt: skip
    completed = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert "exists, so it is not replaced (nothing was changed); add --overwrite" in one_line_error(completed)
    assert existing.read_bytes() == b"the user's own file"

    def write_half_then_fail(model, path):
        path.write_bytes(struct.pack("<2i", 793712314, 12))
        raise KeyboardInterrupt

    monkeypatch.setattr(fasttext_bin, "write_fasttext_bin", write_half_then_fail)
    with pytest.raises(KeyboardInterrupt):
        export_fasttext_bin(Word2VecModel.from_pretrained(tmp_path / "model"), existing, overwrite=True)
    assert existing.read_bytes() == b"the user's own file"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["model", "model.bin"], "no temporary file left"
    completed = subprocess.run([*command, "--overwrite"], capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr
    assert fasttext.load_model(str(existing)).get_words() == fasttext.load_model(str(gensim_bin)).get_words()


def test_the_ngram_table_is_copied_through_a_buffer_where_the_kernel_cannot_copy_between_the_two_files(
    gensim_bin, tmp_path, monkeypatch
):
    import errno

    import fasttext

    def across_file_systems(*arguments):
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(os, "copy_file_range", across_file_systems)
    convert_vector_file(gensim_bin, "fasttext-bin", tmp_path / "model")
    model = Word2VecModel.from_pretrained(tmp_path / "model")
    np.testing.assert_array_equal(model.ngrams.detach().numpy(), _load_with_gensim(gensim_bin).wv.vectors_ngrams)
    peer = fasttext.load_model(str(gensim_bin))
    np.testing.assert_allclose(model["runners"].numpy(), peer.get_word_vector("runners"), rtol=0, atol=1e-6)


def test_blocks_composed_a_block_ahead_in_a_thread_each_reach_the_folder_unchanged(gensim_bin, tmp_path, monkeypatch):
    import fasttext

    from word2vec_hub.conversion import fasttext_bin

    # Blocks of three words: the thread composes the next block while the writer copies this one.
    monkeypatch.setattr(fasttext_bin, "BLOCK_WORDS", 3)
    convert_vector_file(gensim_bin, "fasttext-bin", tmp_path / "model")
    model = Word2VecModel.from_pretrained(tmp_path / "model")
    peer = fasttext.load_model(str(gensim_bin))
    for word in WORDS:
        np.testing.assert_allclose(model[word].numpy(), peer.get_word_vector(word), rtol=0, atol=1e-6)


def test_a_conversion_failing_between_blocks_leaves_no_composing_thread_behind(gensim_bin, tmp_path, monkeypatch):
    import threading

    from word2vec_hub.conversion import fasttext_bin
    from word2vec_hub.conversion.weights_writer import ConvertedWeightsWriter

    monkeypatch.setattr(fasttext_bin, "BLOCK_WORDS", 3)
    appended = []

    def fail_on_the_third_block(self, vectors):
        appended.append(len(vectors))
        if len(appended) == 3:
            raise RuntimeError("the writer failed")

    monkeypatch.setattr(ConvertedWeightsWriter, "append", fail_on_the_third_block)
    with pytest.raises(RuntimeError, match="the writer failed"):
        convert_vector_file(gensim_bin, "fasttext-bin", tmp_path / "model")
    assert not any(thread.name.startswith("fasttext-compose") for thread in threading.enumerate())
    assert not (tmp_path / "model").exists()


def test_a_yielded_block_keeps_its_vectors_while_the_next_is_composed(gensim_bin, monkeypatch):
    import threading

    from word2vec_hub.conversion import fasttext_bin

    compose_block, second_composed = fasttext_bin.FastTextBinFile._compose_block, threading.Event()

    def composing_and_signalling_the_second_block(reader, start, *arguments):
        vectors = compose_block(reader, start, *arguments)
        if start == fasttext_bin.BLOCK_WORDS:
            second_composed.set()
        return vectors

    monkeypatch.setattr(fasttext_bin.FastTextBinFile, "_compose_block", composing_and_signalling_the_second_block)
    monkeypatch.setattr(fasttext_bin, "BLOCK_WORDS", 3)
    with fasttext_bin.FastTextBinFile(gensim_bin) as vectors:
        blocks = iter(vectors)
        _, first = next(blocks)
        as_yielded = first.copy()
        # The thread composes the next three words meanwhile, into a buffer of its own.
        assert second_composed.wait(timeout=60), "the next block was not composed while this one was held"
        np.testing.assert_array_equal(first, as_yielded)
        _, second = next(blocks)
        assert not np.array_equal(second, as_yielded)


def test_max_vocab_cutting_a_block_short_keeps_each_words_vector(gensim_bin, tmp_path, monkeypatch):
    import fasttext

    from word2vec_hub.conversion import fasttext_bin

    monkeypatch.setattr(fasttext_bin, "BLOCK_WORDS", 3)
    report = convert_vector_file(gensim_bin, "fasttext-bin", tmp_path / "model", max_vocab=7)
    model = Word2VecModel.from_pretrained(tmp_path / "model")
    peer = fasttext.load_model(str(gensim_bin))
    assert report.words_kept == 7 and list(model.index_to_key)[2:] == peer.get_words()[:7]
    for word in peer.get_words()[:7]:
        np.testing.assert_allclose(model[word].numpy(), peer.get_word_vector(word), rtol=0, atol=1e-6)


def test_lowercased_duplicates_across_blocks_keep_the_first_words_vector(tmp_path, monkeypatch):
    import fasttext
    from gensim.models import FastText
    from gensim.models.fasttext import save_facebook_model

    from word2vec_hub.conversion import fasttext_bin

    # "cat" is the more frequent, so first in the file; "Cat" and "DOG" fall in later blocks than their lowercase.
    words = ["cat"] * 6 + ["dog"] * 5 + ["sat", "on", "mat"] * 3 + ["Cat"] * 2 + ["DOG", "rug"]
    sentences = [list(np.random.default_rng(seed).permutation(words)) for seed in range(40)]
    trained = FastText(sentences, vector_size=6, window=2, min_count=1, min_n=2, max_n=3, bucket=200, epochs=2, seed=1)
    save_facebook_model(trained, str(tmp_path / "cased.bin"))
    monkeypatch.setattr(fasttext_bin, "BLOCK_WORDS", 3)
    report = convert_vector_file(tmp_path / "cased.bin", "fasttext-bin", tmp_path / "model", lowercase=True)
    model = Word2VecModel.from_pretrained(tmp_path / "model")
    peer = fasttext.load_model(str(tmp_path / "cased.bin"))
    assert report.duplicates_dropped == 2
    assert list(model.index_to_key)[2:] == [word for word in peer.get_words() if word not in ("Cat", "DOG")]
    for word in ("cat", "dog", "sat", "on", "mat", "rug"):
        np.testing.assert_allclose(model[word].numpy(), peer.get_word_vector(word), rtol=0, atol=1e-6)


def test_the_composing_thread_uses_as_many_numba_threads_as_its_caller(gensim_bin, monkeypatch):
    import numba

    from word2vec_hub.conversion import fasttext_bin

    seen = numba_thread_counts_at_each_call(monkeypatch, fasttext_bin, "_compose")
    monkeypatch.setattr(fasttext_bin, "BLOCK_WORDS", 5)
    numba.set_num_threads(1)
    try:
        with fasttext_bin.FastTextBinFile(gensim_bin) as vectors:
            for _ in vectors:
                pass
    finally:
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    assert seen == [1, 1, 1]


# fasttext-numpy2 0.10.4 leaves its input matrix as malloc returned it and, as upstream fastText does, initialises
# only `thread` tenths of it: the rest holds whatever the heap held (valgrind: uninitialised values from
# DenseMatrix::DenseMatrix read in SoftmaxLoss::computeOutput), and training stops with "Encountered NaN" in about
# half the runs on a small corpus, in every run in some processes. glibc zero-fills what it carves from its heap
# under MALLOC_PERTURB_=255, and with its per-thread cache of small chunks (which it hands back as they were) turned
# off that is every allocation: upstream's zeros (std::vector's), so these tests still convert what the library
# itself trained.
FASTTEXT_ZEROED_HEAP = {"MALLOC_PERTURB_": "255", "GLIBC_TUNABLES": "glibc.malloc.tcache_count=0"}
needs_glibc = pytest.mark.skipif(
    platform.libc_ver()[0] != "glibc", reason="trains with the fasttext library, whose heap only glibc zero-fills"
)
FASTTEXT_TRAINING = """
import sys, fasttext
kind, corpus, output = sys.argv[1:4]
train = fasttext.train_supervised if kind == "supervised" else fasttext.train_unsupervised
arguments = {"dim": 8, "epoch": 1, "thread": 1, "verbose": 0}
if kind != "supervised":
    arguments.update(model="skipgram", minCount=1, minn=2, maxn=4, bucket=1000)
train(corpus, **arguments).save_model(output)
"""


def trained_by_the_fasttext_library(kind: str, corpus, output):
    """`output`, a .bin the fasttext library trained on `corpus` (`kind` "supervised" or "skipgram") and wrote."""
    completed = subprocess.run(
        [sys.executable, "-c", FASTTEXT_TRAINING, kind, str(corpus), str(output)],
        capture_output=True, text=True, env={**os.environ, **FASTTEXT_ZEROED_HEAP},
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    return output


def labelled_lines(count: int, labels: tuple[str, ...] = ()) -> str:
    generator = np.random.default_rng(1)
    prefix = [f"__label__{labels[i % len(labels)]} " if labels else "" for i in range(count)]
    return "".join(prefix[i] + " ".join(generator.choice(WORDS, 12)) + "\n" for i in range(count))


@needs_glibc
def test_a_bin_trained_by_the_fasttext_library_converts_to_its_vectors_for_known_and_unknown_words(tmp_path):
    import fasttext

    (tmp_path / "corpus.txt").write_text(labelled_lines(3000))
    path = trained_by_the_fasttext_library("skipgram", tmp_path / "corpus.txt", tmp_path / "library.bin")
    report = convert_vector_file(path, "fasttext-bin", tmp_path / "model")
    model = Word2VecModel.from_pretrained(tmp_path / "model")
    peer = fasttext.load_model(str(path))
    # The library's dictionary holds its end-of-sentence token "</s>" beside the corpus's words.
    assert report.words_kept == len(peer.get_words()) == len(WORDS) + 1 and "</s>" in peer.get_words()
    for word in [*peer.get_words(), "runners", "电脑桌", "übermat"]:
        np.testing.assert_allclose(model[word].numpy(), peer.get_word_vector(word), rtol=0, atol=1e-6)


@needs_glibc
def test_a_supervised_model_trained_by_the_fasttext_library_is_refused_naming_its_labels(tmp_path):
    (tmp_path / "labelled.txt").write_text(labelled_lines(30_000, labels=("cats", "dogs", "mats")))
    path = trained_by_the_fasttext_library("supervised", tmp_path / "labelled.txt", tmp_path / "classifier.bin")
    completed = subprocess.run(
        [sys.executable, "-m", "word2vec_hub", "convert", str(path), "--from", "fasttext-bin", "--output",
         str(tmp_path / "model")],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    error = one_line_error(completed)
    assert "is a supervised fastText model (a text classifier with 3 labels)" in error
    assert "convert a model trained with `fasttext skipgram` or `fasttext cbow`" in error
    assert sorted(path.name for path in tmp_path.iterdir()) == ["classifier.bin", "labelled.txt"]
