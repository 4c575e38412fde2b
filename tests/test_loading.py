"""A saved folder loads through the Auto classes and the pipeline: remotely (a fresh process that cannot import this
package) and locally (registered classes, no trust_remote_code)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest
import torch
from safetensors.torch import load_file
from transformers import AutoConfig, AutoModel, AutoTokenizer, pipeline

from word2vec_hub.modeling import Word2VecConfig, Word2VecModel

FRESH_PROCESS_SCRIPT = textwrap.dedent(
    """
    import json, sys

    OUR_PACKAGES = {"word2vec_hub", "modeling", "tokenization", "training"}

    class BlockThisPackage:
        # Prove that loading needs nothing but the folder: our own packages cannot be imported here.
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in OUR_PACKAGES:
                raise ImportError(f"{name} is blocked in this process")

    sys.meta_path.insert(0, BlockThisPackage())

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


@pytest.mark.parametrize("path", ["./no-such-folder", "models/no/such-folder", "/no/such/folder"])
def test_a_path_that_names_no_folder_is_said_to_be_missing(path):
    with pytest.raises(OSError, match=rf"^{path}: no such model folder \(a model on the Hub is named namespace/name\)"):
        Word2VecModel.from_pretrained(path)
