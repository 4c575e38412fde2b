"""The model card: built from its template and the config; a table it cannot draw still saves, with a note."""

from __future__ import annotations

import math

import pytest
import yaml

from word2vec_hub.folders.model_card import CARD_FILE, WORD_MAP_FILE, build_model_card
from word2vec_hub.folders.model_folder import save_model_folder
from word2vec_hub.modeling import Word2VecModel

from .conftest import handmade_model


@pytest.mark.parametrize(
    ("vectors", "reason"),
    [
        ({"alone": [1.0, 0.0]}, "the vocabulary has 1 word(s) of letters to place"),
        ({"apple": [1.0], "pear": [0.5], "car": [-1.0]}, "the vectors have one dimension"),
        ({"": [1.0, 0.0], "42": [0.0, 1.0]}, "the vocabulary has 0 word(s) of letters to place"),
        (
            {"apple": [1.0, 0.0], "pear": [math.nan, 0.1], "car": [0.0, math.inf]},
            "some of the vectors to place are not finite numbers",
        ),
    ],
    ids=["one-word", "one-dimension", "no-word-of-letters", "non-finite-rows"],
)
def test_a_table_without_a_word_map_saves_with_a_note_instead(tmp_path, vectors, reason):
    model = handmade_model(vectors)
    folder = save_model_folder(model, model.tokenizer, tmp_path / "model")
    card = (folder / CARD_FILE).read_text()
    assert f"*No word map: {reason}" in card
    assert WORD_MAP_FILE not in card and not (folder / WORD_MAP_FILE).exists()
    assert Word2VecModel.from_pretrained(folder).config.vocab_size == len(vectors) + 2


def test_the_smallest_drawable_table_gets_its_word_map(tmp_path):
    model = handmade_model({"apple": [1.0, 0.0], "car": [0.0, 1.0]})
    folder = save_model_folder(model, model.tokenizer, tmp_path / "model")
    assert f"]({WORD_MAP_FILE})" in (folder / CARD_FILE).read_text()
    assert (folder / WORD_MAP_FILE).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def card_metadata(card: str) -> dict:
    return yaml.safe_load(card.split("---\n")[1])


def test_the_card_states_the_architecture_the_config_records(trained):
    trained.model.config.negative = 7
    try:
        card = str(build_model_card(trained.model, "alice/planted"))
    finally:
        trained.model.config.negative = 5
    assert "Word2vec word vectors: skip-gram with negative sampling (7 noise words a pair), " in card
    assert "Architecture: skip-gram with negative sampling (7 noise words a pair)." in card
    assert card_metadata(card)["tags"] == ["word2vec", "skip-gram", "static-embeddings"]
    assert "| `negative` | 7 |" in card


def test_the_card_of_converted_vectors_claims_no_training(tmp_path):
    vectors = tmp_path / "vectors.txt"
    vectors.write_text("apple 1.0 0.5\npear 0.9 0.4\ncar -0.2 1.0\n")
    from word2vec_hub.conversion.convert import convert_vector_file

    convert_vector_file(vectors, "glove", tmp_path / "converted")
    card = (tmp_path / "converted" / CARD_FILE).read_text()
    assert "Word vectors converted from vectors.txt (glove), 3 words × 2 dimensions." in card
    assert "## Source" in card and "with negative sampling" not in card and "| hyperparameter |" not in card
    assert card_metadata(card)["tags"] == ["word2vec", "static-embeddings"]


def test_evaluation_results_become_the_model_index_and_a_table(trained):
    record = {"task": "sentence-similarity", "dataset": "wordsim353", "metric": "spearmanr", "value": 0.61}
    card = str(build_model_card(trained.model, "alice/planted", evaluation=[record]))
    result = card_metadata(card)["model-index"][0]["results"][0]
    assert result["metrics"][0]["value"] == 0.61 and result["dataset"]["type"] == "wordsim353"
    assert card.endswith(
        "## Evaluation\n\n| dataset | metric | value |\n|---|---|---|\n| wordsim353 | spearmanr | 0.6100 |\n"
    )
    assert "\n\n\n" not in card
