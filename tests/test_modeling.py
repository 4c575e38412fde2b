"""The model: forward, the skip-gram head, embeddings as layers, queries, saving and loading."""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from safetensors.torch import load_file, save_file
from torch.nn import functional as F
from transformers.modeling_outputs import BaseModelOutput

from word2vec_hub.modeling import Word2VecConfig, Word2VecModel

from .conftest import handmade_model


def small_model(vocab_size: int = 12, dim: int = 6, seed: int = 0) -> Word2VecModel:
    torch.manual_seed(seed)
    model = Word2VecModel(Word2VecConfig(vocab_size=vocab_size, hidden_size=dim))
    with torch.no_grad():
        model.context.normal_(0, 0.3)
        model.counts.copy_(torch.arange(vocab_size) * 7)
    return model


def test_new_model_follows_gensims_initialisation():
    model = Word2VecModel(Word2VecConfig(vocab_size=50, hidden_size=10))
    bound = 1.0 / 10
    # 480 draws uniform in (-bound, bound): word2vec's half-as-wide range would keep them all within bound / 2.
    assert bound / 2 < model.embeddings.abs().max() <= bound
    assert model.embeddings[2:].abs().sum() > 0
    assert torch.equal(model.embeddings[0], torch.zeros(10)), "the padding row starts at zero"
    assert torch.equal(model.context, torch.zeros(50, 10))
    assert model.counts.dtype == torch.int64


def test_forward_returns_the_input_vectors_and_masks_padding():
    model = small_model()
    ids = torch.tensor([[3, 4, 5], [6, 0, 0]])
    mask = torch.tensor([[1, 1, 1], [1, 0, 0]])
    output = model(input_ids=ids, attention_mask=mask)
    assert isinstance(output, BaseModelOutput)
    assert output.last_hidden_state.shape == (2, 3, 6)
    assert torch.equal(output.last_hidden_state[0], model.embeddings[[3, 4, 5]])
    assert torch.equal(output.last_hidden_state[1, 0], model.embeddings[6])
    assert torch.equal(output.last_hidden_state[1, 1:], torch.zeros(2, 6))
    assert model(ids, return_dict=False)[0].shape == (2, 3, 6)


@pytest.mark.parametrize("bad_id", [12, 1000, -1])
def test_an_id_outside_the_table_names_the_id_and_the_vocabulary_size(bad_id):
    model = small_model(vocab_size=12)
    with pytest.raises(IndexError, match=rf"token id {bad_id} .*vocabulary of 12 words"):
        model(torch.tensor([[2, bad_id]]))


def test_skipgram_loss_is_the_negative_sampling_objective():
    model = small_model()
    centers, contexts = torch.tensor([2, 3, 4]), torch.tensor([5, 6, 7])
    negatives = torch.tensor([[8, 9], [10, 11], [2, 3]])
    per_pair = model.skipgram_loss(centers, contexts, negatives, reduction="none")
    for i in range(3):
        v = model.embeddings[centers[i]]
        expected = -F.logsigmoid(model.context[contexts[i]] @ v)
        expected -= sum(F.logsigmoid(-(model.context[k] @ v)) for k in negatives[i])
        torch.testing.assert_close(per_pair[i], expected)
    torch.testing.assert_close(model.skipgram_loss(centers, contexts, negatives), per_pair.mean())
    torch.testing.assert_close(model.skipgram_loss(centers, contexts, negatives, reduction="sum"), per_pair.sum())
    with pytest.raises(IndexError, match="token id 99"):
        model.skipgram_loss(centers, contexts, torch.tensor([[99, 2], [2, 2], [2, 2]]))


def test_a_model_without_context_vectors_has_no_skipgram_head():
    model = Word2VecModel(Word2VecConfig(vocab_size=5, hidden_size=3, has_context_vectors=False))
    assert model.context is None
    assert set(model.state_dict()) == {"word_embeddings.weight", "counts"}
    with pytest.raises(RuntimeError, match="no context vectors"):
        model.skipgram_loss(torch.tensor([2]), torch.tensor([3]), torch.tensor([[4]]))


def test_input_embeddings_share_the_parameter_and_the_frozen_copy_shares_memory():
    model = small_model()
    embedding = model.get_input_embeddings()
    assert embedding.weight is model.embeddings
    assert embedding.padding_idx == model.config.pad_token_id
    frozen = model.frozen_embedding()
    assert not frozen.weight.requires_grad
    assert frozen.padding_idx == 0
    assert frozen.weight.data_ptr() == model.embeddings.data_ptr()
    optimizer_params = [p for p in torch.nn.Sequential(frozen, torch.nn.Linear(6, 2)).parameters() if p.requires_grad]
    assert all(p is not frozen.weight for p in optimizer_params)


def test_assigning_a_table_to_embeddings_replaces_the_weight_of_the_input_embeddings():
    model = small_model()
    table = torch.nn.Parameter(torch.ones(12, 6))
    model.embeddings = table
    assert model.get_input_embeddings().weight is table and model.embeddings is table
    assert "embeddings" not in dict(model.named_parameters())
    with pytest.raises(ValueError, match=r"the new table has shape \[13, 6\], this model \[12, 6\]"):
        model.embeddings = torch.nn.Parameter(torch.ones(13, 6))


def test_save_and_load_round_trip_is_bit_exact(tmp_path):
    model = small_model()
    model.save_pretrained(tmp_path)
    stored = load_file(tmp_path / "model.safetensors")
    assert set(stored) == {"embeddings", "context", "counts"}
    assert stored["counts"].dtype == torch.int64
    loaded = Word2VecModel.from_pretrained(tmp_path)
    for name in ("embeddings", "context", "counts"):
        assert torch.equal(getattr(loaded, name), getattr(model, name)), name
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["model_type"] == "word2vec"
    assert config["auto_map"]["AutoModel"] == "modeling_word2vec.Word2VecModel"
    assert (tmp_path / "modeling_word2vec.py").exists()


def test_a_model_saved_frozen_loads_frozen(tmp_path):
    model = small_model()
    model.freeze()
    assert not model.embeddings.requires_grad
    model.save_pretrained(tmp_path)
    assert not Word2VecModel.from_pretrained(tmp_path).embeddings.requires_grad
    model.freeze(False)
    model.save_pretrained(tmp_path)
    assert Word2VecModel.from_pretrained(tmp_path).embeddings.requires_grad


def test_a_checkpoint_with_a_missing_tensor_loads_it_initialised_and_reports_it(tmp_path):
    model = small_model()
    model.save_pretrained(tmp_path)
    tensors = load_file(tmp_path / "model.safetensors")
    del tensors["context"]
    save_file(tensors, tmp_path / "model.safetensors", metadata={"format": "pt"})
    loaded, loading_info = Word2VecModel.from_pretrained(tmp_path, output_loading_info=True)
    assert loading_info["missing_keys"] == {"context"}
    assert torch.equal(loaded.context, torch.zeros_like(model.context)), "word2vec's initialisation: zeros"
    assert torch.equal(loaded.embeddings, model.embeddings) and torch.equal(loaded.counts, model.counts)


def test_loading_refuses_a_truncated_checkpoint(tmp_path):
    small_model().save_pretrained(tmp_path)
    weights = tmp_path / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    with pytest.raises(OSError, match=r"model\.safetensors is truncated or corrupt"):
        Word2VecModel.from_pretrained(tmp_path)


def test_loading_refuses_weights_and_tokenizer_of_different_sizes(trained_folder, tmp_path):
    folder = tmp_path / "mixed"
    shutil.copytree(trained_folder, folder)
    config = json.loads((folder / "config.json").read_text())
    small = small_model(vocab_size=config["vocab_size"] - 3, dim=config["hidden_size"])
    small.save_pretrained(folder)
    with pytest.raises(OSError, match=r"tokenizer.json has \d+ tokens but the embedding table has \d+ rows"):
        Word2VecModel.from_pretrained(folder)


def test_config_rejects_special_ids_outside_the_table():
    with pytest.raises(ValueError, match="pad_token_id=9 is outside the vocabulary of 5 rows"):
        Word2VecConfig(vocab_size=5, pad_token_id=9)


def test_most_similar_excludes_the_query_and_special_tokens():
    model = handmade_model(
        {"king": [1.0, 0.1, 0.0], "queen": [0.9, 0.2, 0.0], "apple": [0.0, 0.0, 1.0], "pear": [0.0, 0.1, 0.9]}
    )
    result = model.most_similar("king", topn=10)
    words = [word for word, _ in result]
    assert words[0] == "queen"
    assert "king" not in words and "[PAD]" not in words and "[UNK]" not in words
    assert len(words) == 3
    scores = [score for _, score in result]
    assert scores == sorted(scores, reverse=True)
    vector_result = model.most_similar(torch.tensor([0.0, 0.05, 1.0]), topn=2)
    assert [word for word, _ in vector_result] == ["apple", "pear"]
    assert model.most_similar("KING", topn=1)[0][0] == "queen", "words are normalised as the tokenizer does"


def test_similarity_is_the_cosine_of_the_input_vectors():
    model = handmade_model({"a": [1.0, 0.0], "b": [1.0, 1.0], "c": [0.0, -2.0]})
    assert model.similarity("a", "b") == pytest.approx(2**-0.5)
    assert model.similarity("b", "a") == pytest.approx(model.similarity("a", "b"))
    assert model.similarity("a", "c") == pytest.approx(0.0, abs=1e-7)


def test_analogy_uses_3cosadd():
    model = handmade_model(
        {
            "man": [1.0, 0.0, 0.0],
            "woman": [1.0, 1.0, 0.0],
            "king": [1.0, 0.0, 1.0],
            "queen": [1.0, 1.0, 1.0],
            "throne": [0.2, 0.0, 1.0],
        }
    )
    assert model.analogy("man", "woman", "king", topn=1)[0][0] == "queen"
    assert model.most_similar(positive=["woman", "king"], negative=["man"], topn=1)[0][0] == "queen"


def test_an_unknown_word_raises_key_error_naming_it():
    model = handmade_model({"a": [1.0, 0.0], "b": [0.0, 1.0]})
    with pytest.raises(KeyError, match="'zebra' is not in the vocabulary"):
        model.most_similar("zebra")
    with pytest.raises(KeyError, match="zebra"):
        model.similarity("a", "zebra")
    with pytest.raises(KeyError, match=r"\[PAD\]"):
        model.most_similar("[PAD]")
    assert "a" in model and "zebra" not in model


def test_queries_follow_updates_of_the_table():
    model = handmade_model({"a": [1.0, 0.0], "b": [0.0, 1.0], "c": [0.7, 0.7]})
    assert model.most_similar("a", topn=1)[0][0] == "c"
    with torch.no_grad():
        model.embeddings[4] = torch.tensor([0.0, 1.0])
        model.embeddings[3] = torch.tensor([1.0, 0.1])
    assert model.most_similar("a", topn=1)[0][0] == "b"


def test_loaded_model_has_its_vocabulary(trained_folder, trained):
    loaded = Word2VecModel.from_pretrained(trained_folder)
    assert loaded.index_to_key == trained.model.index_to_key
    assert loaded.most_similar("a3", topn=3) == trained.model.most_similar("a3", topn=3)


def test_get_input_embeddings_builds_no_table(monkeypatch):
    model = small_model()

    def refuse(self):
        raise AssertionError("get_input_embeddings allocated and initialised a table of its own")

    monkeypatch.setattr(torch.nn.Embedding, "reset_parameters", refuse)
    embedding = model.get_input_embeddings()
    assert embedding.weight is model.embeddings
    assert (embedding.num_embeddings, embedding.embedding_dim) == (12, 6)


@pytest.mark.parametrize("rows", [15, 9])
def test_resize_token_embeddings_resizes_the_whole_checkpoint_and_it_loads(tmp_path, rows):
    model = handmade_model({f"w{i}": [float(i), 1.0] for i in range(10)})
    with torch.no_grad():
        model.context.normal_()
        model.counts.copy_(torch.arange(12) + 1)
    before = {name: getattr(model, name).detach().clone() for name in ("embeddings", "context", "counts")}
    tokenizer = model.tokenizer
    if rows > 12:
        tokenizer.add_tokens([f"new{i}" for i in range(rows - 12)])
    model.resize_token_embeddings(rows, mean_resizing=False)
    kept = min(rows, 12)
    for name, tensor in before.items():
        resized = getattr(model, name)
        assert resized.shape[0] == rows, name
        assert torch.equal(resized[:kept], tensor[:kept]), f"{name} keeps its rows"
    if rows > 12:
        assert torch.equal(model.context[12:], torch.zeros(rows - 12, 2)), "new context vectors start at zero"
        assert torch.equal(model.counts[12:], torch.zeros(rows - 12, dtype=torch.int64))
        assert model.embeddings[12:].abs().max() <= 1.0 / 2, "new input vectors get gensim's initialisation"
        assert model.most_similar("w9", topn=1)[0][0] == "w8", "the attached tokenizer still matches"
        tokenizer.save_pretrained(tmp_path)
    else:
        assert model.tokenizer is None, "a tokenizer that no longer matches is detached"
    model.save_pretrained(tmp_path)
    loaded = Word2VecModel.from_pretrained(tmp_path)
    for name in ("embeddings", "context", "counts"):
        assert torch.equal(getattr(loaded, name), getattr(model, name)), name
    if rows > 12:
        assert loaded.index_to_key[-1] == f"new{rows - 13}"


def test_resize_token_embeddings_refuses_to_drop_the_special_tokens():
    model = small_model()
    with pytest.raises(ValueError, match=r"cannot resize the table to 1 rows: it must keep the special tokens' rows"):
        model.resize_token_embeddings(1)
    assert model.embeddings.shape[0] == model.context.shape[0] == model.counts.shape[0] == 12


def test_queries_see_writes_through_data_as_the_training_engines_make_them():
    model = handmade_model({"a": [1.0, 0.0], "b": [0.0, 1.0], "c": [0.7, 0.7]})
    assert model.most_similar("a", topn=1)[0][0] == "c"
    assert model.similarity("a", "b") == pytest.approx(0.0)
    version = model.embeddings._version
    model.embeddings.data[3] = torch.tensor([1.0, 0.1])
    assert model.embeddings._version == version, "a write through .data bumps no version counter"
    model.forget_row_norms()  # as the epoch loop does after every block: the kept row norms cannot see such writes
    assert model.most_similar("a", topn=1)[0][0] == "b"
    assert model.similarity("a", "b") == pytest.approx(
        float(F.cosine_similarity(torch.tensor([1.0, 0.0]), torch.tensor([1.0, 0.1]), 0))
    )
    assert torch.allclose(model.unit_vectors()[3], F.normalize(torch.tensor([1.0, 0.1]), dim=0))


def test_forward_compiles_into_one_graph_and_still_refuses_a_bad_id():
    # backend="eager" runs Dynamo's tracing, where a host-side check would break the graph (fullgraph=True turns
    # that into an error), without the minutes a C++ compile of the kernels costs on a small machine.
    model = small_model(vocab_size=12)
    compiled = torch.compile(model, fullgraph=True, backend="eager")
    ids = torch.tensor([[2, 3, 11], [4, 0, 0]])
    assert torch.equal(compiled(ids).last_hidden_state, model(ids).last_hidden_state)
    with pytest.raises(RuntimeError, match=r"token id is outside the vocabulary of 12 words \(valid ids are 0\.\.11\)"):
        compiled(torch.tensor([[2, 12]]))
    with pytest.raises(IndexError, match=r"token id 12 is outside the vocabulary of 12 words"):
        model(torch.tensor([[2, 12]]))


def test_index_to_key_reads_the_tokenizer_as_a_list_would():
    model = handmade_model({"a": [1.0, 0.0], "b": [0.0, 1.0], "c": [0.7, 0.7]})
    words = ["[PAD]", "[UNK]", "a", "b", "c"]
    keys = model.index_to_key
    assert keys == words and words == keys and list(keys) == words
    assert (len(keys), keys[2], keys[-1], keys[1:3]) == (5, "a", "c", ["[UNK]", "a"])
    assert "b" in keys and "zebra" not in keys
    with pytest.raises(IndexError, match="row 5 is outside the vocabulary of 5 words"):
        keys[5]
    assert model.key_to_index == {word: index for index, word in enumerate(words)}


@pytest.mark.parametrize("ties", ["hashed", "id"])
def test_huffman_tree_is_an_optimal_prefix_code_over_the_counted_words(ties):
    import heapq

    from word2vec_hub.modeling.modeling_word2vec import huffman_tree

    generator = torch.Generator().manual_seed(0)
    # Counts up to 50 over 298 words: many ties, which the two rules order differently.
    counts = torch.randint(1, 50, (300,), generator=generator)
    counts[:2] = 0  # [PAD] and [UNK]: not in the tree
    tree = huffman_tree(counts, ties)
    assert tree.lengths[:2].tolist() == [0, 0]
    paths = {word: tuple(tree.codes[word, : tree.lengths[word]].tolist()) for word in range(2, 300)}
    # Prefix-free: no word's code starts another's, so every word has its own leaf.
    codes = sorted(paths.values())
    assert all(codes[i] != codes[i + 1][: len(codes[i])] for i in range(len(codes) - 1))
    # Optimal: the weighted path length equals that of a Huffman code built with a heap.
    heap = counts[2:].tolist()
    heapq.heapify(heap)
    optimal = 0
    while len(heap) > 1:
        merged = heapq.heappop(heap) + heapq.heappop(heap)
        optimal += merged
        heapq.heappush(heap, merged)
    assert sum(counts[word].item() * len(path) for word, path in paths.items()) == optimal
    # Every word's path starts at the root (row words - 2: 298 words here) and visits each inner node at most once.
    assert set(tree.points[2:, 0].tolist()) == {296}
    for word in range(2, 300):
        visited = tree.points[word, : tree.lengths[word]].tolist()
        assert len(set(visited)) == len(visited) and all(0 <= row <= 296 for row in visited)


def siblings(tree, words):
    """The pairs of words whose paths differ only in the last turn."""
    by_parent = {}
    for word in words:
        length = int(tree.lengths[word])
        by_parent.setdefault(tuple(tree.points[word, :length].tolist()), []).append(word)
    return [tuple(sorted(pair)) for pair in by_parent.values() if len(pair) == 2]


def test_hashed_ties_stop_equal_count_neighbours_in_the_vocabulary_from_being_siblings():
    from word2vec_hub.modeling.modeling_word2vec import huffman_tree

    # 64 words of one count (a vocabulary lists them alphabetically): a complete tree of 32 sibling pairs.
    counts = torch.tensor([0, 0] + [7] * 64)
    words = range(2, 66)
    by_id = siblings(huffman_tree(counts, "id"), words)
    assert len(by_id) == 32 and all(second == first + 1 for first, second in by_id)
    hashed = siblings(huffman_tree(counts, "hashed"), words)
    assert len(hashed) == 32 and sum(second == first + 1 for first, second in hashed) <= 4
    with pytest.raises(ValueError, match="ties must be one of hashed, id, got 'alphabetical'"):
        huffman_tree(counts, "alphabetical")
    with pytest.raises(ValueError, match="huffman_ties must be one of hashed, id, got 'alphabetical'"):
        Word2VecConfig(huffman_ties="alphabetical")
