"""Labelled texts from JSON lines, and the checks a classifier's training data must pass.

No torch here: `word2vec classify` checks its files with it before the heavy imports.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path


@dataclass
class LabelledTexts:
    texts: list[str]
    labels: list[int]
    label_names: list[str]


def read_labelled_jsonl(
    path: str | Path, label_names: list[str] | None = None, limit: int | None = None, allow_empty: bool = True
) -> LabelledTexts:
    """`{"label": ..., "text": ...}` lines; labels become ids in sorted order, or in the order of `label_names`
    (then a label outside them is an error). Raises ValueError naming the file and line of a malformed record, and
    of an empty text unless `allow_empty`."""
    records = []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise ValueError(f"{path}:{number}: not a JSON line ({error.msg})") from None
        if not (
            isinstance(record, dict) and isinstance(record.get("label"), str) and isinstance(record.get("text"), str)
        ):
            raise ValueError(f'{path}:{number}: expected {{"label": "...", "text": "..."}}')
        if label_names is not None and record["label"] not in label_names:
            raise ValueError(
                f"{path}:{number}: label {record['label']!r} is not one of {', '.join(label_names)} (the training "
                "labels); a classifier cannot predict a label it never saw: add training texts of it or drop the line"
            )
        if not allow_empty and not record["text"].strip():
            raise ValueError(f"{path}:{number}: the text is empty; remove the line or give it its text")
        records.append(record)
        if limit is not None and len(records) == limit:
            break
    label_names = label_names or sorted({record["label"] for record in records})
    index = {name: i for i, name in enumerate(label_names)}
    return LabelledTexts([r["text"] for r in records], [index[r["label"]] for r in records], label_names)


def read_classifier_data(
    train_path: str | Path, test_path: str | Path | None = None, num_labels: int | None = None
) -> tuple[LabelledTexts, LabelledTexts | None]:
    """The training texts and the test texts of a classifier, checked: no empty text, at least two labels in
    training, every test label among them, and `num_labels` (where given) the number of training labels.
    ValueError with one line naming the file and the way out otherwise."""
    train = read_labelled_jsonl(train_path, allow_empty=False)
    if len(train.label_names) < 2:
        found = f"only {train.label_names[0]!r}" if train.label_names else "no labelled line"
        raise ValueError(f"{train_path} has {found}; a classifier needs texts of at least two labels")
    if num_labels is not None and num_labels != len(train.label_names):
        raise ValueError(
            f"--num-labels {num_labels} disagrees with {train_path}, which has {len(train.label_names)} labels "
            f"({', '.join(train.label_names)}); drop --num-labels or correct the data"
        )
    test = None if test_path is None else read_labelled_jsonl(test_path, train.label_names, allow_empty=False)
    return train, test
