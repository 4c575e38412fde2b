"""A saved folder loads through the Auto classes and the pipeline: remotely (a fresh process that cannot import this
package) and locally (registered classes, no trust_remote_code)."""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file
from transformers import AutoConfig, AutoModel, AutoTokenizer, pipeline
from transformers.testing_utils import CaptureLogger
from transformers.utils import logging

from word2vec_hub.modeling import CheckpointMismatchError, Word2VecConfig, Word2VecModel
from word2vec_hub.modeling import modeling_word2vec as modeling_module

from .conftest import WITHOUT_OUR_PACKAGES, one_line_error

SMALL_FOLDER = Path(__file__).parent / "fixtures" / "model-0.2.0"

FRESH_PROCESS_SCRIPT = WITHOUT_OUR_PACKAGES + textwrap.dedent(
    """
    import json

    import torch
    from transformers import AutoModel, AutoTokenizer, pipeline

    folder = sys.argv[1]
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    devices += ["mps"] if torch.backends.mps.is_available() else []
    report = {"devices": devices, "loads": []}
    tokenizer = AutoTokenizer.from_pretrained(folder, trust_remote_code=True)
    batch = tokenizer(["a3 b3 t3_1", "w1"], padding=True, return_tensors="pt")
    report["input_ids"] = batch["input_ids"].tolist()
    for dtype in (torch.float32, torch.float16, torch.bfloat16):
        model = AutoModel.from_pretrained(folder, trust_remote_code=True, dtype=dtype)
        for device in devices:
            model = model.to(device)
            hidden = model(**batch.to(device)).last_hidden_state
            report["loads"].append({
                "dtype": str(dtype),
                "device": device,
                "class": type(model).__module__ + "." + type(model).__name__,
                "config_is_instance": isinstance(model.config, type(model).config_class),
                "embeddings_dtype": str(model.embeddings.dtype),
                "counts_dtype": str(model.counts.dtype),
                "hidden_device": hidden.device.type,
                "hidden": hidden.float().cpu().tolist(),
                "neighbour": model.most_similar("a3", topn=1)[0][0],
                "rank_of_neighbour": model.rank("a3", model.most_similar("a3", topn=1)[0][0]),
                "batch_neighbours": [answer[0][0] for answer in model.similar_by_word(["a3", "a7"], topn=1)],
            })
    extractor = pipeline("feature-extraction", model=folder, trust_remote_code=True)
    report["pipeline"] = extractor("a3 b3 t3_1")
    report["our_packages_imported"] = sorted(
        name for name in sys.modules if name.split(".")[0] in OUR_PACKAGES
    )
    print(json.dumps(report))
    """
)


def test_folder_loads_in_a_fresh_process_with_remote_code(trained_folder, tmp_path):
    environment = {**os.environ, "HF_MODULES_CACHE": str(tmp_path / "modules"), "HF_HOME": str(tmp_path / "home")}
    completed = subprocess.run(
        [sys.executable, "-c", FRESH_PROCESS_SCRIPT, str(trained_folder)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=environment,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    report = json.loads(completed.stdout.strip().splitlines()[-1])
    assert report["our_packages_imported"] == []

    tensors = load_file(trained_folder / "model.safetensors")
    vocab = AutoTokenizer.from_pretrained(trained_folder).get_vocab()
    ids = [vocab["a3"], vocab["b3"], vocab["t3_1"]]
    assert report["input_ids"][0] == ids
    assert report["input_ids"][1] == [vocab["w1"], vocab["[PAD]"], vocab["[PAD]"]]
    expected = {dtype: tensors["embeddings"].to(dtype)[ids] for dtype in (torch.float32, torch.float16, torch.bfloat16)}

    assert len(report["loads"]) == 3 * len(report["devices"])
    for load in report["loads"]:
        dtype = getattr(torch, load["dtype"].removeprefix("torch."))
        assert load["class"].startswith("transformers_modules.") and load["class"].endswith("Word2VecModel")
        assert load["config_is_instance"]
        assert load["embeddings_dtype"] == load["dtype"]
        assert load["counts_dtype"] == "torch.int64"
        assert load["hidden_device"] == load["device"]
        hidden = torch.tensor(load["hidden"])
        assert torch.equal(hidden[0], expected[dtype].float()), "vectors are the saved ones, cast to the dtype"
        assert torch.equal(hidden[1, 1:], torch.zeros_like(hidden[1, 1:])), "padding gives zero vectors"
        assert load["neighbour"].startswith(("b3", "t3_"))
        # The query set runs in remote code, on each device: a batch as well as a single query.
        assert load["rank_of_neighbour"] == 1
        assert load["batch_neighbours"][0] == load["neighbour"] and load["batch_neighbours"][1].startswith(
            ("b7", "t7_")
        )

    features = torch.tensor(report["pipeline"])
    assert features.shape == (1, 3, tensors["embeddings"].shape[1])
    assert torch.equal(features[0], tensors["embeddings"][ids])


def test_registered_classes_load_without_remote_code(trained_folder):
    config = AutoConfig.from_pretrained(trained_folder)
    assert isinstance(config, Word2VecConfig)
    model = AutoModel.from_pretrained(trained_folder)
    assert type(model) is Word2VecModel
    tokenizer = AutoTokenizer.from_pretrained(trained_folder)
    assert len(tokenizer) == model.config.vocab_size
    features = pipeline("feature-extraction", model=str(trained_folder))("a3 b3")
    assert torch.equal(
        torch.tensor(features)[0], model.embeddings.detach()[[tokenizer.get_vocab()[w] for w in ("a3", "b3")]]
    )


def test_saved_folder_records_the_training_hyperparameters(trained_folder, planted_lines):
    config = json.loads((trained_folder / "config.json").read_text())
    expected = {"window": 5, "negative": 5, "sample": 1e-3, "min_count": 5, "epochs": 5, "ns_exponent": 0.75}
    assert {key: config[key] for key in expected} == expected
    assert config["corpus_word_count"] == sum(len(line.split()) for line in planted_lines)
    assert config["hidden_size"] == 32
    assert config["pad_token_id"] == 0 and config["unk_token_id"] == 1
    assert sorted(path.name for path in trained_folder.iterdir()) == [
        "README.md",
        "config.json",
        "model.safetensors",
        "modeling_word2vec.py",
        "modules.json",
        "subwords.py",
        "tokenizer.json",
        "tokenizer_config.json",
        "word_map.png",
    ]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_queries_run_on_the_model_device(trained_folder):
    model = Word2VecModel.from_pretrained(trained_folder).to("cuda")
    assert model.unit_vectors().device.type == "cuda"
    on_cpu = Word2VecModel.from_pretrained(trained_folder).most_similar("a3", topn=3)
    assert [w for w, _ in model.most_similar("a3", topn=3)] == [w for w, _ in on_cpu]


# ---------------------------------------------------------------------- damaged folders (crafted from a small one)


def crafted_folder(tmp_path: Path) -> Path:
    """A copy of a small saved folder (8 rows: [PAD], [UNK], king, queen, man, woman, paris, france) to damage."""
    folder = tmp_path / "crafted"
    shutil.copytree(SMALL_FOLDER, folder)
    return folder


def edit_json(path: Path, edit) -> None:
    content = json.loads(path.read_text())
    edit(content)
    path.write_text(json.dumps(content))


def test_non_finite_rows_are_reported_at_load_and_never_ranked(tmp_path):
    folder = crafted_folder(tmp_path)
    tensors = load_file(folder / "model.safetensors")
    tensors["embeddings"][3, 1] = float("nan")  # queen
    tensors["embeddings"][4, 0] = float("inf")  # man
    save_file(tensors, folder / "model.safetensors", metadata={"format": "pt"})
    with CaptureLogger(logging.get_logger(modeling_module.__name__)) as captured:
        model = Word2VecModel.from_pretrained(folder)
    assert captured.out.count("hold NaN or inf") == 1
    assert "2 rows" in captured.out and "queen, man" in captured.out
    for query in ({"positive": "king"}, {"positive": ["king", "woman"], "negative": "paris"}):
        result = model.most_similar(**query, topn=10)
        assert {word for word, _ in result}.isdisjoint({"queen", "man"})
        assert result and all(math.isfinite(score) for _, score in result)
    by_vector = model.most_similar(model.get_vector("king"), topn=10)
    assert {word for word, _ in by_vector} == {"king", "woman", "paris", "france"}
    assert [word for word, _ in model.analogy("paris", "france", "king", topn=10)] == ["woman"]
    with pytest.raises(ValueError, match="the vector of 'queen' holds NaN or inf"):
        model.most_similar("queen")
    with pytest.raises(ValueError, match="the vector of 'man' holds NaN or inf"):
        model.similarity("king", "man")
    with pytest.raises(ValueError, match="a query vector holds NaN or inf"):
        model.most_similar(torch.full((4,), float("nan")))


def test_a_tokenizer_id_beyond_the_table_is_refused(tmp_path):
    folder = crafted_folder(tmp_path)
    edit_json(folder / "tokenizer.json", lambda content: content["model"]["vocab"].update(france=20))
    with pytest.raises(OSError, match=r"tokenizer.json gives 'france' the id 20, beyond the embedding table's 8 rows"):
        Word2VecModel.from_pretrained(folder)


def test_two_tokens_sharing_a_row_are_refused(tmp_path):
    folder = crafted_folder(tmp_path)
    edit_json(folder / "tokenizer.json", lambda content: content["model"]["vocab"].update(france=6))
    with pytest.raises(
        OSError, match=r"tokenizer.json has no token for row 7 of the embedding table \(two tokens share an id\)"
    ):
        Word2VecModel.from_pretrained(folder)


def test_a_special_token_elsewhere_than_the_config_says_is_refused(tmp_path):
    folder = crafted_folder(tmp_path)
    edit_json(folder / "config.json", lambda content: content.update(pad_token_id=2))
    with pytest.raises(
        OSError, match=r"config.json gives pad_token_id=2, but .*tokenizer.json has the ordinary token 'king'"
    ):
        Word2VecModel.from_pretrained(folder)


def test_an_unknown_word_row_other_than_the_config_says_is_refused(tmp_path):
    folder = crafted_folder(tmp_path)
    edit_json(folder / "config.json", lambda content: content.update(unk_token_id=0, pad_token_id=1))
    with pytest.raises(OSError, match=r"unk_token_id=0, but .*maps unknown words to '\[UNK\]' \(id 1\)"):
        Word2VecModel.from_pretrained(folder)


def test_a_tokenizer_json_that_does_not_parse_is_named(tmp_path):
    folder = crafted_folder(tmp_path)
    (folder / "tokenizer.json").write_text('{"version": "1.0", "model": ')
    with pytest.raises(
        OSError, match=r"crafted/tokenizer.json does not parse as a tokenizer .*save the model's tokenizer"
    ):
        Word2VecModel.from_pretrained(folder)


def test_config_and_weights_of_different_sizes_name_both_and_the_fix(tmp_path):
    folder = crafted_folder(tmp_path)
    edit_json(folder / "config.json", lambda content: content.update(vocab_size=10))
    with pytest.raises(
        CheckpointMismatchError, match=r"embeddings is \[8, 4\] in the checkpoint but \[10, 4\] by the config"
    ):
        Word2VecModel.from_pretrained(folder)
    with CaptureLogger(logging.get_logger(modeling_module.__name__)) as captured:
        model = Word2VecModel.from_pretrained(folder, ignore_mismatched_sizes=True)
    assert model.embeddings.shape == (10, 4) and model.tokenizer is None
    assert "tokenizer.json has 8 tokens but the embedding table has 10 rows" in captured.out


def test_the_cli_reports_a_size_mismatch_in_one_line(tmp_path):
    folder = crafted_folder(tmp_path)
    edit_json(folder / "config.json", lambda content: content.update(hidden_size=5))
    completed = subprocess.run(
        [sys.executable, "-m", "word2vec_hub", "evaluate", str(folder)], capture_output=True, text=True, timeout=300
    )
    error = one_line_error(completed)
    assert "embeddings is [8, 4] in the checkpoint but [8, 5] by the config" in error
    assert "ignore_mismatched_sizes=True" in error


@pytest.mark.parametrize(
    ("tensor", "advice"),
    [("counts", "train a new model from the corpus"), ("context", '"has_context_vectors": false')],
)
def test_continuing_training_from_a_folder_without_a_tensor_says_what_is_missing(tmp_path, tensor, advice):
    folder = crafted_folder(tmp_path)
    tensors = load_file(folder / "model.safetensors")
    del tensors[tensor]
    save_file(tensors, folder / "model.safetensors", metadata={"format": "pt"})
    model = Word2VecModel.from_pretrained(folder)
    assert model.most_similar("king", topn=1), "the vectors still serve queries"
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("king queen man woman paris france\n" * 20)
    completed = subprocess.run(
        [sys.executable, "-m", "word2vec_hub", "train", "--no-progress", "--device", "cpu", "--corpus", str(corpus),
         "--init-from", str(folder), "--output", str(tmp_path / "out")],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    error = one_line_error(completed)
    assert f"model.safetensors lacks {tensor}" in error and advice in error
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("path", ["./no-such-folder", "models/no/such-folder", "/no/such/folder"])
def test_a_path_that_names_no_folder_is_said_to_be_missing(path):
    with pytest.raises(OSError, match=rf"^{path}: no such model folder \(a model on the Hub is named namespace/name\)"):
        Word2VecModel.from_pretrained(path)
