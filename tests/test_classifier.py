"""Word2VecForSequenceClassification: training (Trainer and `word2vec classify`), saving, serving, loading both ways,
and the command's refusals."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from dataclasses import replace
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


def topic_texts(folder: Path, records: list[dict]):
    """The records' token ids (a few with an unknown word and padding-free bigrams across it) and label ids."""
    from transformers import PreTrainedTokenizerFast

    from word2vec_hub.downstream.text_classifier import tokenize

    tokenizer = PreTrainedTokenizerFast.from_pretrained(folder)
    texts = [record["text"] + (" zzunknown t0_1" if index % 3 == 0 else "") for index, record in enumerate(records)]
    return tokenize(tokenizer, texts), [TOPICS.index(int(record["label"].split()[1])) for record in records]


@pytest.mark.parametrize("frozen", [True, False], ids=["frozen", "fine-tuned"])
def test_the_bags_pool_every_text_as_the_forward_does(trained_folder, frozen):
    from word2vec_hub.downstream.text_classifier import text_bags

    classifier = Word2VecForSequenceClassification.from_pretrained(
        trained_folder, num_labels=3, word_bigram_buckets=16, hashed_words=True, freeze_embeddings=frozen
    )
    texts, _ = topic_texts(trained_folder, topic_lines(per_label=4, seed=4))
    words, bigrams, sizes = text_bags(classifier, texts, "cpu")
    pooled = (words.sums(classifier.embeddings) + bigrams.sums(classifier.word_bigrams.weight)) / sizes.unsqueeze(1)
    forward = texts.batch(range(len(texts.ids)), "cpu")
    assert torch.allclose(pooled, classifier.pool(**forward), atol=1e-6)
    # A training batch: the word vectors' sums taken once for every text (frozen), the table's for the batch alone.
    classifier.classifier.weight.data.normal_()
    batch = torch.tensor([5, 0, 7])
    table = classifier.word_bigrams.weight
    batch_pooled = (words.sums(classifier.embeddings)[batch] + bigrams.sums(table, batch)) / sizes[batch, None]
    assert torch.allclose(classifier.logits_from_pooled(batch_pooled), classifier(**forward).logits[batch], atol=1e-5)
    assert torch.allclose(bigrams.select(batch).sums(table), bigrams.sums(table)[batch], atol=1e-6)


@pytest.mark.parametrize("frozen", [True, False], ids=["frozen", "fine-tuned"])
def test_a_training_step_is_rowwise_adagrad_on_the_forwards_own_gradients(trained_folder, frozen):
    """One step over every text at once: the head moves as torch.optim.Adagrad moves it, each table row that the
    texts hold by learning rate x its gradient / the root of its mean squared gradient, and no other row."""
    from word2vec_hub.downstream.classifier_settings import ClassifierSettings
    from word2vec_hub.downstream.text_classifier import train_classifier

    texts, labels = topic_texts(trained_folder, topic_lines(per_label=4, seed=5))
    settings = ClassifierSettings(
        epochs=1, min_steps=1, batch_size=len(labels), learning_rate=0.3, word_bigram_buckets=64,
        freeze_embeddings=frozen,
    )  # fmt: skip
    classifier = Word2VecForSequenceClassification.from_pretrained(
        trained_folder, num_labels=3, word_bigram_buckets=64, hashed_words=True, freeze_embeddings=frozen
    )
    classifier.classifier.weight.data.normal_(std=0.5)  # gradients reach the tables only through a non-zero head
    reference = Word2VecForSequenceClassification.from_pretrained(
        trained_folder, num_labels=3, word_bigram_buckets=64, hashed_words=True, freeze_embeddings=False
    )
    reference.load_state_dict(classifier.state_dict())
    loss = reference(**texts.batch(range(len(labels)), "cpu"), labels=torch.tensor(labels)).loss
    loss.backward()
    train_classifier(classifier, texts, labels, settings)
    tables = [("word_bigrams.weight", reference.word_bigrams.weight)]
    if not frozen:
        tables.append(("word_embeddings.weight", reference.embeddings))
    trained = dict(classifier.named_parameters())
    for name, table in tables:
        gradient = table.grad
        step = 0.3 * gradient / (gradient.square().mean(1, keepdim=True).sqrt() + 1e-10)
        assert torch.allclose(trained[name], table.detach() - step, atol=1e-5), name
        untouched = gradient.abs().sum(1) == 0
        assert untouched.any() and torch.equal(trained[name][untouched], table.detach()[untouched])
    if frozen:
        assert torch.equal(classifier.embeddings, reference.embeddings)
    for name in ("classifier.weight", "classifier.bias"):
        parameter = dict(reference.named_parameters())[name]
        expected = parameter.detach() - 0.3 * parameter.grad / (parameter.grad.abs() + 1e-10)
        assert torch.allclose(trained[name], expected, atol=1e-5), name


def test_the_same_seed_trains_the_same_classifier_and_the_thread_count_is_given_back(trained_folder):
    from word2vec_hub.downstream.classifier_settings import ClassifierSettings
    from word2vec_hub.downstream.text_classifier import new_classifier, train_classifier

    texts, labels = topic_texts(trained_folder, topic_lines(per_label=6, seed=6))
    settings = ClassifierSettings(epochs=2, min_steps=4, batch_size=8, word_bigram_buckets=64, seed=3)
    runs, threads = [], torch.get_num_threads()
    torch.set_num_threads(2)  # training steps on one thread, then gives the caller's count back
    try:
        for seed in (3, 3, 4):
            classifier = new_classifier(
                str(trained_folder), ["topic 0", "topic 1", "topic 2"], replace(settings, seed=seed)
            )
            train_classifier(classifier, texts, labels, replace(settings, seed=seed))
            runs.append(classifier.state_dict())
            assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(threads)
    assert all(torch.equal(runs[0][name], runs[1][name]) for name in runs[0])
    assert not torch.equal(runs[0]["word_bigrams.weight"], runs[2]["word_bigrams.weight"])


def test_hashed_words_give_each_known_word_a_trainable_row_beside_its_vector(trained_folder):
    classifier = Word2VecForSequenceClassification.from_pretrained(
        trained_folder, num_labels=2, word_bigram_buckets=1024, hashed_words=True
    )
    words = Word2VecModel.from_pretrained(trained_folder)
    one, two = words.word_id("t0_0"), words.word_id("t0_1")
    buckets, counted = classifier.hashed_ids(torch.tensor([[one, 1, two]]), torch.tensor([[True, False, True]]))
    assert counted.tolist() == [[False, False, True, False, True]]  # no pair across [UNK]; both words
    row = classifier.word_bigrams.weight
    assert torch.allclose(
        classifier.pool(torch.tensor([[one]]))[0], (classifier.embeddings[one] + row[buckets[0, 2]]) / 2
    )
    assert buckets[0, 2] != buckets[0, 4]


def test_the_compiled_loops_build_pool_and_step_as_the_tensor_path_does():
    """The CPU's compiled loops against the tensor path that CUDA and MPS run, on texts that share rows and repeat
    them: the same bags, the same batch sums, and one row-wise Adagrad step that moves the same rows alike."""
    from word2vec_hub.downstream.bags import Bags, RowwiseAdagrad, rowwise_adagrad_step

    generator = torch.Generator().manual_seed(0)
    texts = torch.randint(0, 6, (300,), generator=generator)
    ids = torch.randint(0, 40, (300,), generator=generator)
    compiled = Bags.from_occurrences(texts, ids, 50, 7)
    tensors = Bags.from_keys(texts * 50 + ids, 50, 7)

    def as_counts(bags: Bags) -> list[dict[int, float]]:
        spans = zip(bags.offsets[:-1].tolist(), bags.offsets[1:].tolist(), strict=True)
        return [dict(zip(bags.ids[a:b].tolist(), bags.weights[a:b].tolist(), strict=True)) for a, b in spans]

    assert as_counts(compiled) == as_counts(tensors) and as_counts(compiled)[6] == {}  # text 6 holds nothing
    table = torch.randn(50, 8, generator=generator)
    batch = torch.tensor([4, 1, 6, 2])
    assert torch.allclose(compiled.sums(table, batch), tensors.select(batch).sums(table), atol=1e-5)
    text_gradients = torch.randn(4, 8, generator=generator)
    stepped, squares = table.clone(), torch.zeros(50)
    rowwise_adagrad_step(stepped, squares, tensors.select(batch), text_gradients, 0.3)
    optimizer = RowwiseAdagrad(table.clone(), compiled, batch_size=4)
    optimizer.step(batch, text_gradients, 0.3)
    assert torch.allclose(optimizer.table, stepped, atol=1e-5) and torch.allclose(optimizer.squares, squares)
    held = torch.zeros(50, dtype=torch.bool)
    held[tensors.select(batch).ids] = True
    assert torch.equal(optimizer.table[~held], table[~held]) and not torch.allclose(optimizer.table[held], table[held])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU: training on cuda runs the tensor path")
def test_training_on_cuda_trains_the_classifier_the_cpu_trains(trained_folder):
    from word2vec_hub.downstream.classifier_settings import ClassifierSettings
    from word2vec_hub.downstream.text_classifier import new_classifier, predict, train_classifier

    texts, labels = topic_texts(trained_folder, topic_lines(per_label=6, seed=7))
    settings = ClassifierSettings(epochs=2, min_steps=4, batch_size=8, word_bigram_buckets=64)
    trained = {}
    for device in ("cpu", "cuda"):
        classifier = new_classifier(str(trained_folder), ["topic 0", "topic 1", "topic 2"], settings)
        train_classifier(classifier, texts, labels, settings, device)
        assert next(classifier.parameters()).device.type == device
        trained[device] = classifier
    for name, tensor in trained["cpu"].state_dict().items():
        assert torch.allclose(tensor, trained["cuda"].state_dict()[name].cpu(), atol=1e-4), name
    assert torch.equal(predict(trained["cuda"], texts), predict(trained["cpu"], texts))


def test_a_classifier_from_an_int8_folder_starts_from_the_dequantised_vectors(trained_folder, tmp_path):
    vectors = Word2VecModel.from_pretrained(trained_folder)
    vectors.drop_context_vectors()
    vectors.save_pretrained(tmp_path / "int8", table_dtype="int8")
    classifier = Word2VecForSequenceClassification.from_pretrained(tmp_path / "int8", num_labels=3)
    # int8 keeps each value within half its row's scale, max|row| / 127 / 2.
    bound = vectors.embeddings.abs().amax(1, keepdim=True) / 254 + 1e-7
    assert ((classifier.embeddings - vectors.embeddings).abs() <= bound).all()
    assert classifier.config.table_dtype is None and "weights" not in dict(classifier.named_buffers())
    classifier.save_pretrained(tmp_path / "classifier")
    reloaded = Word2VecForSequenceClassification.from_pretrained(tmp_path / "classifier")
    assert torch.equal(reloaded.embeddings, classifier.embeddings)


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


def test_classify_reads_each_data_file_once(trained_folder, classify_data, tmp_path, monkeypatch):
    import word2vec_hub.downstream.labelled_texts as labelled_texts
    from word2vec_hub.cli import run_command

    reads = []
    original = labelled_texts.read_labelled_jsonl
    monkeypatch.setattr(
        labelled_texts,
        "read_labelled_jsonl",
        lambda path, *arguments, **keywords: reads.append(Path(path).name) or original(path, *arguments, **keywords),
    )
    output = tmp_path / "topics"
    arguments = ["--train", str(classify_data / "train.jsonl"), "--test", str(classify_data / "test.jsonl")]
    status = run_command(
        ["classify", "--device", "cpu", "--model", str(trained_folder), *arguments, "--output", str(output)]
    )
    assert status == 0 and (output / "model.safetensors").is_file()
    assert sorted(reads) == ["test.jsonl", "train.jsonl"]


def test_max_length_reaches_the_classifier_and_its_help_names_both_uses(capsys):
    from word2vec_hub.cli import build_parser
    from word2vec_hub.commands.classify import classifier_settings_from

    options = build_parser().parse_args(["classify", "--train", "t.jsonl", "--max-length", "7"])
    assert classifier_settings_from(options).max_length == 7
    with pytest.raises(SystemExit):
        build_parser().parse_args(["classify", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    entry = help_text[help_text.index("--max-length MAX_LENGTH") :].split(" --limit")[0]
    assert "by the classifier (default: whole texts)" in entry and "--learning-curve" in entry
