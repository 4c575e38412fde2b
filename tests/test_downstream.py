"""The vectors as the frozen input layer of a transformer classifier, on a slice of BBC News."""

from __future__ import annotations

import torch

from word2vec_hub.downstream.classifier import (
    build_classifier,
    read_labelled_jsonl,
    train_classifier,
    trainable_parameters,
)
from word2vec_hub.modeling import Word2VecModel

from .conftest import shared_file


def test_frozen_vectors_stay_bit_identical_while_the_encoder_learns(trained_folder, tmp_path):
    vectors = Word2VecModel.from_pretrained(trained_folder)
    tokenizer = vectors.tokenizer
    train = read_labelled_jsonl(shared_file("data/bbc-news/train.jsonl"), limit=48)
    test = read_labelled_jsonl(shared_file("data/bbc-news/test.jsonl"), train.label_names, limit=16)
    assert train.label_names == sorted(train.label_names)

    classifier = build_classifier(vectors, len(train.label_names), frozen_vectors=True, max_length=32)
    table = classifier.bert.get_input_embeddings()
    assert not table.weight.requires_grad
    assert table.padding_idx == vectors.config.pad_token_id
    assert all(parameter is not table.weight for parameter in trainable_parameters(classifier))
    table_before = table.weight.detach().clone()
    assert torch.equal(table_before, vectors.embeddings.detach())
    others_before = {name: p.detach().clone() for name, p in classifier.named_parameters() if p.requires_grad}

    run = train_classifier(classifier, tokenizer, train, test, "frozen", epochs=1, batch_size=16, max_length=32)
    assert len(run.losses) == 3 and 0 <= run.test_accuracy <= 1
    assert torch.equal(classifier.bert.get_input_embeddings().weight, table_before), "the frozen table changed"
    changed = [
        name for name, p in classifier.named_parameters() if p.requires_grad and not torch.equal(p, others_before[name])
    ]
    assert "classifier.weight" in changed and any("encoder.layer.0" in name for name in changed)

    random_classifier = build_classifier(vectors, len(train.label_names), frozen_vectors=False, max_length=32)
    assert random_classifier.bert.get_input_embeddings().weight.requires_grad
    assert not torch.equal(random_classifier.bert.get_input_embeddings().weight, vectors.embeddings.detach())


def test_a_word2vec_model_saved_frozen_reloads_frozen_and_feeds_a_classifier(trained_folder, tmp_path):
    vectors = Word2VecModel.from_pretrained(trained_folder)
    vectors.freeze()
    vectors.save_pretrained(tmp_path)
    reloaded = Word2VecModel.from_pretrained(tmp_path)
    assert not reloaded.embeddings.requires_grad
    assert not reloaded.get_input_embeddings().weight.requires_grad
