"""Which `tokenizers` model should segment Chinese: Unigram (Viterbi) or WordPiece (greedy longest match)?

    python benchmarks/segmentation_models.py                    # the first 20,000 lines of the shared corpus
    python benchmarks/segmentation_models.py --max-lines 5000

Both get the same vocabulary: jieba's dictionary with jieba's scores plus every character of the text (what
`--word-discovery jieba` starts from). Printed: CPU seconds to segment every distinct run of Chinese characters of
the slice, and precision, recall and F1 of the word boundaries against jieba's default mode (HMM on) on the first
20,000 distinct runs; then what each does with a character outside its vocabulary.
"""

from __future__ import annotations

import argparse
import gzip
import itertools
import re
import time
from pathlib import Path

from tokenizers import Tokenizer, models

from word2vec_hub.shared_data import shared_dir
from word2vec_hub.tokenization.segmentation import jieba_candidates
from word2vec_hub.tokenization.writing_systems import HAN_CHARACTER

COMPARED_RUNS = 20_000


def boundaries(words: list[str]) -> set[int]:
    return set(itertools.accumulate(len(word) for word in words))


def agreement(segmentations: list[list[str]], reference: list[list[str]]) -> tuple[float, float, float]:
    agreed = ours_only = reference_only = 0
    for ours, theirs in zip(segmentations, reference, strict=True):
        ours, theirs = boundaries(ours), boundaries(theirs)
        agreed += len(ours & theirs)
        ours_only += len(ours - theirs)
        reference_only += len(theirs - ours)
    precision, recall = agreed / (agreed + ours_only), agreed / (agreed + reference_only)
    return precision, recall, 2 * precision * recall / (precision + recall)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=shared_dir() / "data" / "zh" / "corpus.txt.gz")
    parser.add_argument("--max-lines", type=int, default=20_000)
    options = parser.parse_args()
    import jieba

    jieba.setLogLevel(60)
    han_run = re.compile(f"{HAN_CHARACTER}+")
    with gzip.open(options.corpus, "rt", encoding="utf-8") as lines:
        runs = list(
            dict.fromkeys(run for line in itertools.islice(lines, options.max_lines) for run in han_run.findall(line))
        )
    candidates, unknown_score = jieba_candidates(str)
    for character in {character for run in runs for character in run}:
        candidates.setdefault(character, unknown_score)
    vocab = [("[PAD]", unknown_score), ("[UNK]", 0.0), *candidates.items()]
    segmenters = {
        "Unigram": Tokenizer(models.Unigram(vocab, unk_id=1)),
        "WordPiece": Tokenizer(
            models.WordPiece(
                {word: index for index, (word, _) in enumerate(vocab)}, unk_token="[UNK]",
                continuing_subword_prefix="", max_input_chars_per_word=1_000_000,
            )
        ),
    }  # fmt: skip
    reference = [jieba.lcut(run) for run in runs[:COMPARED_RUNS]]
    print(f"{len(runs):,} distinct runs, {sum(map(len, runs)):,} characters; jieba's dictionary: {len(candidates):,}")
    for name, segmenter in segmenters.items():
        started = time.process_time()
        encodings = segmenter.encode_batch(runs, add_special_tokens=False)
        seconds = time.process_time() - started
        precision, recall, f1 = agreement([e.tokens for e in encodings[:COMPARED_RUNS]], reference)
        print(f"{name:<10} {seconds:6.2f} s CPU   precision {precision:.3f}  recall {recall:.3f}  F1 {f1:.3f}")
    reduced = [(word, score) for word, score in vocab if word != "饕"]
    unigram = Tokenizer(models.Unigram(reduced, unk_id=1))
    wordpiece = Tokenizer(
        models.WordPiece({word: index for index, (word, _) in enumerate(reduced)}, unk_token="[UNK]",
                         continuing_subword_prefix="", max_input_chars_per_word=1_000_000)
    )  # fmt: skip
    for name, segmenter in (("Unigram", unigram), ("WordPiece", wordpiece)):
        encoding = segmenter.encode("中国饕经济发展")
        shown = ["[UNK]" if index == 1 else token for token, index in zip(encoding.tokens, encoding.ids, strict=True)]
        print(f"{name} without 饕: 中国饕经济发展 -> {' '.join(shown)}")


if __name__ == "__main__":
    main()
