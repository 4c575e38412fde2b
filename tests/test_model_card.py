"""The model card's word map: a table it cannot draw still saves, with a card that says why there is no map."""

from __future__ import annotations

import math

import pytest

from word2vec_hub.folders.model_card import CARD_FILE, WORD_MAP_FILE
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
