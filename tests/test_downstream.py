"""The vectors downstream: a transformer classifier over them (frozen, fine-tuned or random word table), the mean
vectors into a logistic regression, and the learning curve that compares them."""

from __future__ import annotations

import random

import pytest
import torch
from PIL import Image

from word2vec_hub.cli import run_command
from word2vec_hub.downstream.classifier import (
    accuracy,
    build_classifier,
    encode_texts,
    train_for_steps,
    trainable_parameters,
)
from word2vec_hub.downstream.curve_settings import QUICK_SETTINGS, CurveSettings
from word2vec_hub.downstream.labelled_texts import LabelledTexts, read_labelled_jsonl
from word2vec_hub.downstream.learning_curve import (
    ARMS,
    LearningCurve,
    balanced_subset,
    draw_learning_curve,
    plot_learning_curve,
    run_learning_curve,
)
from word2vec_hub.modeling import Word2VecModel

from .conftest import a_callers_matplotlib, shared_file

TOPICS = (0, 1, 2, 3)


def planted_topic_texts(topic_words: range, per_label: int, seed: int) -> LabelledTexts:
    """Texts of four topic words of the planted corpus's topic N (label N) and four fillers `wK`.

    The planted corpus (conftest) puts the six words `tN_0`..`tN_5` of topic N in the same sentences, so skip-gram
    gives them neighbouring vectors, while the fillers carry no topic."""
    rng = random.Random(seed)
    texts, labels = [], []
    for _ in range(per_label):
        for label, topic in enumerate(TOPICS):
            words = rng.choices([f"t{topic}_{j}" for j in topic_words], k=4)
            words += rng.choices([f"w{k}" for k in range(100)], k=4)
            rng.shuffle(words)
            texts.append(" ".join(words))
            labels.append(label)
    return LabelledTexts(texts, labels, [f"topic {topic}" for topic in TOPICS])


@pytest.fixture(scope="module")
def vectors(trained_folder) -> Word2VecModel:
    return Word2VecModel.from_pretrained(trained_folder)


def test_the_frozen_table_stays_bit_identical_while_the_fine_tuned_table_and_the_encoder_learn(vectors):
    train = encode_texts(vectors.tokenizer, planted_topic_texts(range(6), per_label=4, seed=0), max_length=16)
    vectors_before = vectors.embeddings.detach().clone()

    frozen = build_classifier(vectors, len(TOPICS), "frozen", max_length=16)
    table = frozen.bert.get_input_embeddings()
    assert not table.weight.requires_grad and table.padding_idx == vectors.config.pad_token_id
    assert all(parameter is not table.weight for parameter in trainable_parameters(frozen))
    assert torch.equal(table.weight, vectors_before)
    encoder_before = {name: p.detach().clone() for name, p in frozen.named_parameters() if p.requires_grad}
    train_for_steps(frozen, train, steps=3, batch_size=8, learning_rate=1e-3, seed=0)
    assert torch.equal(frozen.bert.get_input_embeddings().weight, vectors_before), "the frozen table changed"
    changed = [
        name for name, p in frozen.named_parameters() if p.requires_grad and not torch.equal(p, encoder_before[name])
    ]
    assert "classifier.weight" in changed and any("encoder.layer.0" in name for name in changed)

    fine_tuned = build_classifier(vectors, len(TOPICS), "fine-tuned", max_length=16)
    tuned_table = fine_tuned.bert.get_input_embeddings().weight
    assert tuned_table.requires_grad and torch.equal(tuned_table, vectors_before)
    train_for_steps(fine_tuned, train, steps=3, batch_size=8, learning_rate=1e-3, seed=0)
    seen_words = train.input_ids[train.attention_mask.bool()].unique()
    # AdamW's weight decay alone moves every row by about 1e-5 of its size a step; the gradient moves the rows of
    # the words the training texts hold by about the learning rate.
    moved = (tuned_table.detach() - vectors_before).abs().amax(1)
    assert (moved[seen_words] > 1e-4).all(), "fine-tuning left the rows of the training words as they were"
    assert torch.equal(vectors.embeddings, vectors_before), "fine-tuning changed the word2vec model itself"

    random_table = build_classifier(vectors, len(TOPICS), "random").bert.get_input_embeddings().weight
    assert random_table.requires_grad and not torch.equal(random_table, vectors_before)


def test_the_frozen_arm_beats_the_random_arm_with_few_labels_on_word_groups_the_vectors_separate(vectors):
    # Two labelled texts a topic, written with its words tN_0..tN_2; the test texts use tN_3..tN_5, words no
    # labelled text shows: only vectors that put a topic's words together carry the labels over to them.
    train = encode_texts(vectors.tokenizer, planted_topic_texts(range(3), per_label=2, seed=1), max_length=16)
    test = encode_texts(vectors.tokenizer, planted_topic_texts(range(3, 6), per_label=25, seed=2), max_length=16)
    results = {}
    for arm in ("frozen", "random"):
        torch.manual_seed(0)
        classifier = build_classifier(vectors, len(TOPICS), arm, max_length=16)
        train_for_steps(classifier, train, steps=30, batch_size=8, learning_rate=1e-3, seed=0)
        results[arm] = accuracy(classifier, test)
    assert results["frozen"] >= results["random"] + 0.2, results
    assert results["frozen"] > 0.4 and results["random"] < 0.45, results  # chance is 0.25


def test_a_word2vec_model_saved_frozen_reloads_frozen_and_feeds_a_classifier_that_leaves_it_unchanged(
    trained_folder, tmp_path
):
    model = Word2VecModel.from_pretrained(trained_folder)
    model.freeze()
    model.save_pretrained(tmp_path)
    reloaded = Word2VecModel.from_pretrained(tmp_path)
    assert not reloaded.embeddings.requires_grad
    saved = reloaded.embeddings.detach().clone()

    # The model's own table (its parameter, not a detached copy) as the classifier's input layer: the reloaded
    # requires_grad=False alone must keep it out of training.
    classifier = build_classifier(reloaded, len(TOPICS), "random", max_length=16)
    classifier.bert.set_input_embeddings(reloaded.get_input_embeddings())
    train = encode_texts(model.tokenizer, planted_topic_texts(range(6), per_label=4, seed=0), max_length=16)
    losses = train_for_steps(classifier, train, steps=3, batch_size=8, learning_rate=1e-3, seed=0)
    assert len(losses) == 3 and all(loss > 0 for loss in losses)
    assert classifier.bert.get_input_embeddings().weight is reloaded.embeddings
    assert torch.equal(reloaded.embeddings, saved)


def test_balanced_subsets_cover_the_labels_evenly_and_differ_by_seed():
    labels = [0] * 50 + [1] * 30 + [2] * 5
    subset = balanced_subset(labels, 21, seed=0)
    assert len(set(subset)) == 21
    assert [sum(labels[i] == label for i in subset) for label in (0, 1, 2)] == [8, 8, 5]
    assert sorted(balanced_subset(labels, 21, seed=1)) != sorted(subset)
    assert sorted(balanced_subset(labels, 1000, seed=0)) == list(range(len(labels)))


def test_the_classify_command_runs_the_curve_end_to_end_on_a_slice_of_bbc_news(trained_folder, tmp_path, capsys):
    picture = tmp_path / "curve.png"
    arguments = ["classify", "--learning-curve", "--model", str(trained_folder), "--quick", "--limit", "40"]
    arguments += ["--plot", str(picture)]
    assert run_command([*arguments, "--shared", str(shared_file("data/bbc-news").parent.parent)]) == 0
    output = capsys.readouterr().out.splitlines()
    progress = [line for line in output if "labelled, seed" in line]
    assert len(progress) == len(QUICK_SETTINGS.label_counts) * QUICK_SETTINGS.seeds
    header = next(line for line in output if line.startswith("| labelled texts |"))
    assert [cell.strip() for cell in header.strip("|").split("|")[1:]] == list(ARMS.values())
    rows = {line.split("|")[1].strip(): line.split("|")[2:-1] for line in output if line[:3] in ("| 1", "| 2")}
    assert sorted(rows) == [str(count) for count in QUICK_SETTINGS.label_counts]
    for cells in rows.values():
        assert len(cells) == len(ARMS)
        for cell in cells:
            mean, spread = (float(value) for value in cell.split("±"))
            assert 0 <= mean <= 1 and spread >= 0
    with Image.open(picture) as image:
        assert image.format == "PNG" and image.size == (700, 450)
        image.verify()
    assert [path.name for path in tmp_path.iterdir()] == ["curve.png"]


def test_the_curve_records_an_accuracy_per_arm_label_count_and_seed(vectors):
    train = planted_topic_texts(range(6), per_label=6, seed=0)
    test = planted_topic_texts(range(6), per_label=3, seed=1)
    settings = CurveSettings(label_counts=(4, None, 1000), seeds=2, steps=2, batch_size=4, max_length=16)
    curve = run_learning_curve(vectors, train, test, settings, log=lambda line: None)
    assert curve.label_counts == [4, 24]  # 'all' and counts beyond the data are the whole training set, once
    for arm in ARMS:
        assert [len(runs) for runs in curve.accuracies[arm]] == [2, 2]
        assert all((value * len(test.texts)).is_integer() for runs in curve.accuracies[arm] for value in runs)


def test_classify_rejects_bad_input_with_one_error_line_before_training(trained_folder, tmp_path, capsys):
    data = tmp_path / "data"
    data.mkdir()
    (data / "train.jsonl").write_text('{"label": "a", "text": "t0_1 w1"}\n', encoding="utf-8")
    (data / "test.jsonl").write_text(
        '{"label": "a", "text": "t0_2 w2"}\n{"label": "b", "text": "w3"}\n', encoding="utf-8"
    )
    picture = tmp_path / "curve.png"
    base = ["classify", "--learning-curve", "--quick", "--data", str(data), "--plot", str(picture)]
    assert run_command([*base, "--model", str(trained_folder)]) == 2
    assert capsys.readouterr().err.startswith(f"error: {data / 'test.jsonl'}:2: label 'b' is not one of a (the ")
    (data / "test.jsonl").write_text('{"label": "a", "text": "t0_2 w2"}\n', encoding="utf-8")
    assert run_command([*base, "--model", str(tmp_path / "nothing")]) == 2
    assert capsys.readouterr().err.startswith("error: ")
    missing_folder = ["--plot", str(tmp_path / "missing" / "curve.png")]
    assert run_command([*base, "--model", str(trained_folder), *missing_folder]) == 2
    assert f"the folder {tmp_path / 'missing'} does not exist" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        run_command([*base, "--model", str(trained_folder), "--label-counts", "25", "0"])
    assert "a label count is 'all' or a whole number of at least 1; got '0'" in capsys.readouterr().err
    assert sorted(path.name for path in tmp_path.iterdir()) == ["data"]


def test_a_malformed_labelled_line_is_named_with_its_file_and_line(tmp_path):
    path = tmp_path / "train.jsonl"
    path.write_text('{"label": "a", "text": "x"}\n{"label": "a"}\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"train\.jsonl:2: expected"):
        read_labelled_jsonl(path)
    path.write_text('{"label": "a", "text": "x"}\n{"label": "b", "text": "y"}\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"train\.jsonl:2: label 'b' is not one of a"):
        read_labelled_jsonl(path, label_names=["a"])


def test_plotting_the_curve_leaves_the_callers_matplotlib_backend_and_figures_as_they_were(tmp_path):
    curve = LearningCurve(label_counts=[25, 50], accuracies={arm: [[0.5, 0.6], [0.7, 0.8]] for arm in ARMS})
    with a_callers_matplotlib():
        plot_learning_curve(curve, tmp_path / "curve.png")
    assert Image.open(tmp_path / "curve.png").format == "PNG"


def test_the_curve_picture_keeps_the_legend_off_the_axes_and_coinciding_arms_apart():
    same_points = [[0.5, 0.6], [0.6, 0.7], [0.7, 0.8], [0.8, 0.9]]
    curve = LearningCurve(label_counts=[25, 50, 100, 200], accuracies={arm: same_points for arm in ARMS})
    figure = draw_learning_curve(curve, title="every arm on the same points")
    figure.draw_without_rendering()
    (axes,) = figure.axes
    (legend,) = figure.legends
    assert not legend.get_window_extent().overlaps(axes.get_window_extent())
    assert len({(line.get_marker(), line.get_linestyle()) for line in axes.get_lines()}) == len(ARMS)


def test_transformers_trainer_fine_tunes_a_classifier_over_the_frozen_vectors(vectors, tmp_path):
    """The standard fine-tuning path: transformers.Trainer, which needs accelerate (the finetune extra)."""
    from transformers import Trainer
    from transformers import TrainingArguments as TrainerArguments

    data = encode_texts(vectors.tokenizer, planted_topic_texts(range(6), per_label=4, seed=0), max_length=16)
    rows = [
        {"input_ids": data.input_ids[i], "attention_mask": data.attention_mask[i], "labels": data.labels[i]}
        for i in range(len(data))
    ]
    classifier = build_classifier(vectors, num_labels=len(TOPICS), embeddings="frozen", max_length=16)
    head_before = classifier.classifier.weight.detach().clone()
    arguments = TrainerArguments(
        output_dir=str(tmp_path / "run"), max_steps=2, per_device_train_batch_size=8, report_to=[], use_cpu=True,
        save_strategy="no", disable_tqdm=True,
    )  # fmt: skip
    assert Trainer(model=classifier, args=arguments, train_dataset=rows).train().global_step == 2
    assert not torch.equal(classifier.classifier.weight, head_before)
    assert classifier.bert.get_input_embeddings().weight.data_ptr() == vectors.embeddings.data_ptr()
