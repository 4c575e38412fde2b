"""Word-similarity and analogy benchmarks, computed as gensim's `evaluate_word_pairs` and
`evaluate_word_analogies` compute them, on the model's device."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch
from scipy import stats

from word2vec_hub.modeling import Word2VecModel


class EvaluationFileError(ValueError):
    """A benchmark file is malformed; the message names the line."""


@dataclass
class WordSimilarityResult:
    name: str
    pearson: float
    spearman: float
    pairs: int
    skipped: int

    @property
    def skipped_share(self) -> float:
        return self.skipped / (self.pairs + self.skipped) if self.pairs + self.skipped else 0.0


@dataclass
class AnalogyResult:
    name: str
    accuracy: float
    correct: int
    incorrect: int
    skipped: int
    sections: dict[str, tuple[int, int]] = field(default_factory=dict)


def _case_insensitive_vocabulary(model: Word2VecModel, restrict_vocab: int) -> dict[str, int]:
    """Upper-cased word to row over the `restrict_vocab` most frequent words; the most frequent casing wins."""
    rows = model.word_ids()[:restrict_vocab]
    vocabulary = {}
    for row in reversed(rows):
        vocabulary[model.index_to_key[row].upper()] = row
    return vocabulary


def evaluate_word_pairs(model: Word2VecModel, path: str | Path, restrict_vocab: int = 300_000) -> WordSimilarityResult:
    """Spearman (and Pearson) correlation of cosine similarities with human scores.

    Tab-separated `word word score` lines, `#` comments; pairs with a word outside the `restrict_vocab` most
    frequent words are skipped (compared case-insensitively) and counted.
    """
    path = Path(path)
    vocabulary = _case_insensitive_vocabulary(model, restrict_vocab)
    unit = model.unit_vectors()
    model_scores, human_scores, skipped = [], [], 0
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) != 3:
            raise EvaluationFileError(f"{path}:{number}: expected 'word<TAB>word<TAB>score', got {line[:60]!r}")
        first, second = parts[0].upper(), parts[1].upper()
        if first not in vocabulary or second not in vocabulary:
            skipped += 1
            continue
        model_scores.append(float(unit[vocabulary[first]] @ unit[vocabulary[second]]))
        human_scores.append(float(parts[2]))
    if len(model_scores) < 2:
        raise EvaluationFileError(f"{path}: fewer than two pairs have both words in the vocabulary")
    return WordSimilarityResult(
        name=path.stem,
        pearson=float(stats.pearsonr(human_scores, model_scores)[0]),
        spearman=float(stats.spearmanr(human_scores, model_scores)[0]),
        pairs=len(model_scores),
        skipped=skipped,
    )


def evaluate_word_analogies(
    model: Word2VecModel, path: str | Path, restrict_vocab: int = 300_000, batch_size: int = 1024
) -> AnalogyResult:
    """3CosAdd accuracy on `: section` / `a b c d` lines: is d the word closest to b - a + c?

    The search runs over the `restrict_vocab` most frequent words, leaves a, b and c out, and questions with a
    word outside them are skipped, as in gensim.
    """
    path = Path(path)
    vocabulary = _case_insensitive_vocabulary(model, restrict_vocab)
    questions: list[tuple[str, tuple[int, int, int], str]] = []
    section, skipped = None, 0
    section_order: list[str] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.startswith(":"):
            section = line.lstrip(":").strip()
            section_order.append(section)
            continue
        if not line.strip():
            continue
        if section is None:
            raise EvaluationFileError(f"{path}:{number}: a question before the first ': section' line")
        words = [word.upper() for word in line.split()]
        if len(words) != 4:
            raise EvaluationFileError(f"{path}:{number}: expected four words, got {line[:60]!r}")
        if any(word not in vocabulary for word in words):
            skipped += 1
            continue
        questions.append((section, tuple(vocabulary[word] for word in words[:3]), words[3]))

    unit = model.unit_vectors()
    candidate_rows = torch.tensor(model.word_ids()[:restrict_vocab], device=unit.device)
    column_of_row = torch.full((unit.shape[0],), -1, dtype=torch.long, device=unit.device)
    column_of_row[candidate_rows] = torch.arange(candidate_rows.shape[0], device=unit.device)
    candidates = unit[candidate_rows]
    per_section = {name: [0, 0] for name in section_order}
    for start in range(0, len(questions), batch_size):
        batch = questions[start : start + batch_size]
        ids = torch.tensor([rows for _, rows, _ in batch], device=unit.device)
        query = unit[ids[:, 1]] - unit[ids[:, 0]] + unit[ids[:, 2]]
        scores = torch.nn.functional.normalize(query, dim=1) @ candidates.T
        scores.scatter_(1, column_of_row[ids], float("-inf"))
        top = candidate_rows[scores.topk(min(5, candidates.shape[0]), dim=1).indices].tolist()
        for (name, rows, expected), ranked in zip(batch, top, strict=True):
            # As gensim: the first of the 5 best whose upper-cased form is none of a, b, c (other casings of
            # them included); if all 5 are, the fifth stands.
            ignore = {model.index_to_key[row].upper() for row in rows}
            predicted = None
            for row in ranked:
                predicted = model.index_to_key[row].upper()
                if predicted in vocabulary and predicted not in ignore:
                    break
            per_section[name][0 if predicted == expected else 1] += 1
    correct = sum(right for right, _ in per_section.values())
    incorrect = sum(wrong for _, wrong in per_section.values())
    return AnalogyResult(
        name=path.stem,
        accuracy=correct / (correct + incorrect) if correct + incorrect else 0.0,
        correct=correct,
        incorrect=incorrect,
        skipped=skipped,
        sections={name: (right, wrong) for name, (right, wrong) in per_section.items()},
    )
