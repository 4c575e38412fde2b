"""Word2VecForSequenceClassification: training (Trainer and `word2vec classify`), saving, serving, loading both ways,
and the command's refusals."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from word2vec_hub.modeling import Word2VecForSequenceClassification, Word2VecModel

from .conftest import one_line_error, planted_partner_hits

TOPICS = (0, 1, 2)


def topic_lines(per_label: int, seed: int) -> list[dict]:
    """{"label", "text"} records: four words of the planted corpus's topic N (label "topic N") among four fillers,
    so only the topic words tell the labels apart."""
    rng = random.Random(seed)
    records = []
    for _ in range(per_label):
        for topic in TOPICS:
            words = rng.choices([f"t{topic}_{j}" for j in range(6)], k=4) + rng.choices(
                [f"w{k}" for k in range(100)], k=4
            )
            rng.shuffle(words)
            records.append({"label": f"topic {topic}", "text": " ".join(words)})
    return records


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(record) + "\n" for record in records), encoding="utf-8")
    return path


def encode(folder: Path, records: list[dict]) -> list[dict]:
    from transformers import PreTrainedTokenizerFast

    tokenizer = PreTrainedTokenizerFast.from_pretrained(folder)
    label_ids = {f"topic {topic}": index for index, topic in enumerate(TOPICS)}
    return [
        {"input_ids": tokenizer(record["text"])["input_ids"], "labels": label_ids[record["label"]]}
        for record in records
    ]


def test_from_a_word2vec_folder_it_starts_from_the_vectors_frozen(trained_folder):
    vectors = Word2VecModel.from_pretrained(trained_folder)
    classifier = Word2VecForSequenceClassification.from_pretrained(trained_folder, num_labels=3)
    assert torch.equal(classifier.embeddings, vectors.embeddings)
    assert not classifier.embeddings.requires_grad and classifier.config.freeze_embeddings
    assert classifier.config.num_labels == 3 and classifier.classifier.out_features == 3
    tuned = Word2VecForSequenceClassification.from_pretrained(trained_folder, num_labels=3, freeze_embeddings=False)
    assert tuned.embeddings.requires_grad


def test_trainer_runs_a_few_steps_and_the_loss_falls(trained_folder, tmp_path):
    from transformers import DataCollatorWithPadding, PreTrainedTokenizerFast, Trainer, TrainingArguments

    classifier = Word2VecForSequenceClassification.from_pretrained(trained_folder, num_labels=len(TOPICS))
    vectors_before = classifier.embeddings.detach().clone()
    rows = encode(trained_folder, topic_lines(per_label=8, seed=0))
    arguments = TrainingArguments(
        output_dir=str(tmp_path / "run"), max_steps=12, per_device_train_batch_size=8, learning_rate=0.05,
        logging_steps=1, report_to=[], use_cpu=True, save_strategy="no", disable_tqdm=True,
    )  # fmt: skip
    trainer = Trainer(
        model=classifier,
        args=arguments,
        train_dataset=rows,
        data_collator=DataCollatorWithPadding(PreTrainedTokenizerFast.from_pretrained(trained_folder)),
    )
    trainer.train()
    losses = [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]
    assert len(losses) == 12
    assert sum(losses[-3:]) / 3 < 0.7 * sum(losses[:3]) / 3, losses
    assert torch.equal(classifier.embeddings, vectors_before), "the frozen vectors changed"


def test_multi_label_targets_train_with_a_sigmoid_per_label(trained_folder):
    classifier = Word2VecForSequenceClassification.from_pretrained(
        trained_folder, num_labels=3, problem_type="multi_label_classification", word_bigram_buckets=64
    )
    rows = encode(trained_folder, topic_lines(per_label=6, seed=1))
    ids = torch.nn.utils.rnn.pad_sequence([torch.tensor(row["input_ids"]) for row in rows], batch_first=True)
    # Each text carries its own topic and the next one: two labels of three.
    targets = torch.zeros(len(rows), 3)
    for row, target in zip(rows, targets, strict=True):
        target[row["labels"]] = target[(row["labels"] + 1) % 3] = 1
    optimizer = torch.optim.AdamW([p for p in classifier.parameters() if p.requires_grad], lr=0.05)
    for _ in range(60):
        loss = classifier(input_ids=ids, attention_mask=(ids != 0).long(), labels=targets).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert classifier.config.problem_type == "multi_label_classification"
    predicted = classifier(input_ids=ids, attention_mask=(ids != 0).long()).logits > 0
    assert (predicted == targets.bool()).float().mean() > 0.9


def test_bigram_features_change_the_text_vector_only_where_known_words_neighbour(trained_folder):
    classifier = Word2VecForSequenceClassification.from_pretrained(trained_folder, num_labels=2, word_bigram_buckets=8)
    classifier.classifier.weight.data.normal_()
    words = Word2VecModel.from_pretrained(trained_folder)
    pair = torch.tensor([[words.word_id("t0_0"), words.word_id("t0_1")]])
    apart = torch.tensor([[words.word_id("t0_0"), 1, words.word_id("t0_1")]])  # [UNK] between them
    assert not torch.allclose(classifier.pool(pair), classifier.pool(apart))
    word_mean = classifier.embeddings[pair[0]].mean(0)
    assert torch.allclose(classifier.pool(apart)[0], word_mean)


@pytest.fixture(scope="module")
def classify_data(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("labelled")
    write_jsonl(folder / "train.jsonl", topic_lines(per_label=12, seed=2))
    write_jsonl(folder / "test.jsonl", topic_lines(per_label=6, seed=3))
    return folder


def run_classify(*arguments: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "word2vec_hub", "classify", "--device", "cpu", *arguments],
        capture_output=True, text=True, cwd=cwd, timeout=300,
    )  # fmt: skip


@pytest.fixture(scope="module")
def classifier_folder(trained_folder, classify_data, tmp_path_factory) -> Path:
    output = tmp_path_factory.mktemp("classifiers") / "topics"
    completed = run_classify(
        "--model", str(trained_folder), "--train", str(classify_data / "train.jsonl"),
        "--test", str(classify_data / "test.jsonl"), "--output", str(output), "--epochs", "30",
        cwd=classify_data,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    assert "accuracy on" in completed.stdout
    return output


def test_classify_writes_a_folder_whose_card_states_labels_data_and_accuracy(classifier_folder):
    from huggingface_hub import ModelCard

    card = ModelCard.load(classifier_folder / "README.md")
    (result,) = card.data.eval_results
    assert result.metric_type == "accuracy" and result.dataset_name.endswith("test.jsonl")
    assert result.metric_value > 0.9
    assert "topic 0, topic 1, topic 2" in card.text and "36 texts" in card.text
    assert card.data.pipeline_tag == "text-classification"


def test_the_pipeline_in_a_fresh_process_predicts_labels_with_scores(classifier_folder, tmp_path):
    script = (
        "import json, sys\n"
        "from transformers import pipeline\n"
        "classify = pipeline('text-classification', model=sys.argv[1], trust_remote_code=True, device='cpu')\n"
        "print(json.dumps(classify(['t0_1 w3 t0_2 w7 t0_4', 't2_0 t2_3 w5 t2_1'])))\n"
    )
    # Run outside the clone so that only the folder's own code can be loaded.
    completed = subprocess.run(
        [sys.executable, "-c", script, str(classifier_folder)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr
    predictions = json.loads(completed.stdout.strip().splitlines()[-1])
    assert [prediction["label"] for prediction in predictions] == ["topic 0", "topic 2"]
    assert all(0.34 < prediction["score"] <= 1 for prediction in predictions)


def test_the_classifier_folder_still_gives_its_vectors_to_word2vec_model(classifier_folder, trained_folder):
    vectors, original = Word2VecModel.from_pretrained(classifier_folder), Word2VecModel.from_pretrained(trained_folder)
    assert torch.equal(vectors.embeddings, original.embeddings)
    assert planted_partner_hits(vectors) >= 15
    assert vectors.most_similar("a3", topn=5) == original.most_similar("a3", topn=5)
    assert torch.equal(vectors.encode(["t1_0 w4 t1_2"]), original.encode(["t1_0 w4 t1_2"]))
    reloaded = Word2VecForSequenceClassification.from_pretrained(classifier_folder)
    assert reloaded.config.id2label[2] == "topic 2" and not reloaded.embeddings.requires_grad


BAD_DATA = {
    "one class": (
        [{"label": "only", "text": "t0_1 w2"}] * 4,
        "has only 'only'; a classifier needs texts of at least two",
    ),
    "unseen test label": (None, "label 'topic 9' is not one of topic 0, topic 1, topic 2"),
    "empty text": ([{"label": "topic 0", "text": "t0_1"}, {"label": "topic 1", "text": "  "}], "2: the text is empty"),
    "num labels": (None, "--num-labels 5 disagrees with"),
}


@pytest.mark.parametrize("case", BAD_DATA)
def test_bad_data_gets_one_error_line_and_writes_nothing(case, trained_folder, classify_data, tmp_path):
    records, expected = BAD_DATA[case]
    train = write_jsonl(tmp_path / "train.jsonl", records) if records else classify_data / "train.jsonl"
    test = classify_data / "test.jsonl"
    extra = []
    if case == "unseen test label":
        test = write_jsonl(tmp_path / "test.jsonl", [{"label": "topic 9", "text": "t0_1"}])
    if case == "num labels":
        extra = ["--num-labels", "5"]
    output = tmp_path / "out"
    arguments = ["--model", str(trained_folder), "--train", str(train), "--test", str(test), "--output", str(output)]
    completed = run_classify(*arguments, *extra, cwd=tmp_path)
    assert expected in one_line_error(completed)
    assert not output.exists()


def test_a_model_folder_without_vectors_is_refused(trained_folder, classify_data, tmp_path):
    hollow = tmp_path / "hollow"
    hollow.mkdir()
    (hollow / "config.json").write_text((trained_folder / "config.json").read_text())
    output = tmp_path / "out"
    completed = run_classify(
        "--model", str(hollow), "--train", str(classify_data / "train.jsonl"), "--output", str(output), cwd=tmp_path
    )
    assert "has no model.safetensors, so no vectors" in one_line_error(completed)
    assert not output.exists() and sorted(path.name for path in hollow.iterdir()) == ["config.json"]


def test_push_shares_the_classifier_and_the_pipeline_serves_it_from_the_hub(classifier_folder, tmp_path):
    from .hub_server import HubServer

    token = "hf_alice_secret_token"
    with HubServer({token: "alice"}) as hub:
        environment = {key: value for key, value in os.environ.items() if key != "HF_TOKEN"}
        environment.update(
            HF_ENDPOINT=hub.endpoint, HF_HUB_DISABLE_XET="1", HF_HUB_OFFLINE="0", HF_TOKEN=token,
            HF_HOME=str(tmp_path / "home"), HF_HUB_CACHE=str(tmp_path / "home" / "hub"),
            HF_MODULES_CACHE=str(tmp_path / "home" / "modules"),
        )  # fmt: skip
        pushed = subprocess.run(
            [sys.executable, "-m", "word2vec_hub", "push", str(classifier_folder), "alice/topics"],
            capture_output=True, text=True, env=environment, timeout=300,
        )  # fmt: skip
        assert pushed.returncode == 0, pushed.stderr
        script = (
            "import json\nfrom transformers import pipeline\n"
            "classify = pipeline('text-classification', model='alice/topics', trust_remote_code=True, device='cpu')\n"
            "print(json.dumps(classify(['t1_0 w3 t1_2 t1_5'])))\n"
        )
        served = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, env=environment, cwd=tmp_path, timeout=300
        )
    assert served.returncode == 0, served.stderr[-2000:]
    assert json.loads(served.stdout.strip().splitlines()[-1])[0]["label"] == "topic 1"


def test_the_card_names_a_data_file_with_its_folder_only_when_it_has_one():
    from word2vec_hub.commands.classify import data_name

    assert data_name(Path("test.jsonl")) == "test.jsonl"
    assert data_name(Path("data/bbc-news/test.jsonl")) == "bbc-news/test.jsonl"
