"""Phrases on bench-en: what learning them costs beside gensim's Phrases, what they cost the tokenizer, and what they
do for the phrase analogies.

    python benchmarks/phrases.py                        # bench-en, one pass (two-word phrases)
    python benchmarks/phrases.py --passes 2 --max-lines 100000
    python benchmarks/phrases.py --train                # also train with and without phrases and evaluate

Printed, on the same text in the same run:
- the front end (reading, vocabulary, encoding) with and without `--phrases`, the phrase step's own seconds, and
  gensim's `Phrases` learning the same passes from the same lines (`LineSentence`), with how far the phrase sets
  agree (bench-en is lowercase a-z, so both see the same tokens);
- tokenization speed of the saved tokenizer with and without the phrases (`encode_batch` on a sample of lines), and
  whether its ids equal the training encoding's on that sample;
- with --train: skip-gram on the text with and without phrases (the shared README's reference settings), scored
  on word2vec's phrase analogies (questions-phrases.txt: newspapers, ice hockey and basketball teams, airlines,
  chief executives), the Google analogies and WordSim-353.
"""

from __future__ import annotations

import argparse
import gzip
import itertools
import tempfile
import time
from pathlib import Path

import numpy as np
from harness import add_skipgram_arguments, exit_if_missing

from word2vec_hub.shared_data import shared_dir
from word2vec_hub.tokenization.phrases import tokenizer_phrases
from word2vec_hub.tokenization.word_level import empty_word_level_tokenizer
from word2vec_hub.training.arguments import TrainingArguments
from word2vec_hub.training.corpus import TextCorpus
from word2vec_hub.training.trainer import train_word2vec
from word2vec_hub.training.vocabulary import encode_corpus

SAMPLE_LINES = 20_000


def front_end(corpus: TextCorpus, args: TrainingArguments) -> tuple[float, object]:
    with tempfile.TemporaryDirectory() as workdir:
        started = time.perf_counter()
        text = encode_corpus(corpus, args, workdir)
        return time.perf_counter() - started, text


def gensim_phrases(path: Path, passes: int, threshold: float) -> tuple[float, set[str]]:
    from gensim.models.phrases import Phrases
    from gensim.models.word2vec import LineSentence

    started = time.perf_counter()
    sentences, found = LineSentence(str(path)), set()
    for _ in range(passes):
        model = Phrases(sentences, threshold=threshold).freeze()
        found |= set(model.phrasegrams)
        sentences = model[sentences]
    return time.perf_counter() - started, found


def tokens_per_second(tokenizer, lines: list[str]) -> float:
    tokenizer.encode_batch(lines[:1000])  # warm the thread pool
    started = time.perf_counter()
    tokenizer.encode_batch(lines)
    return sum(len(line.split()) for line in lines) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=None, help="default: the shared bench-en.txt.gz")
    parser.add_argument("--questions", type=Path, default=None, help="default: the shared eval/questions-phrases.txt")
    parser.add_argument("--max-lines", type=int, default=None)
    parser.add_argument("--passes", type=int, default=1)
    parser.add_argument("--phrase-threshold", type=float, default=10.0, help="ours and gensim's (default: 10)")
    parser.add_argument("--train", action="store_true", help="train with and without phrases and evaluate them")
    parser.add_argument("--no-baseline", action="store_true", help="with --train: skip training without phrases")
    add_skipgram_arguments(parser, workers=2, workers_help="reading processes and training threads")
    options = parser.parse_args()
    shared = shared_dir()
    corpus_path = options.corpus or shared / "data" / "bench-en.txt.gz"
    questions = options.questions or shared / "data" / "eval" / "questions-phrases.txt"
    exit_if_missing([corpus_path, *([questions] if options.train else [])])

    with tempfile.TemporaryDirectory() as folder:
        if options.max_lines is not None:
            opener = gzip.open if corpus_path.suffix == ".gz" else open
            with opener(corpus_path, "rt") as lines:
                text = "".join(itertools.islice(lines, options.max_lines))
            corpus_path = Path(folder) / "slice.txt"
            corpus_path.write_text(text)
        corpus = TextCorpus.from_files([corpus_path])
        common = {"progress": False, "workers": options.workers, "min_count": options.min_count, "device": "cpu"}
        plain_seconds, plain = front_end(corpus, TrainingArguments(**common))
        phrase_settings = {"phrases": options.passes, "phrase_threshold": options.phrase_threshold}
        phrased_seconds, phrased = front_end(corpus, TrainingArguments(**phrase_settings, **common))
        words = plain.encoded.word_count
        print(
            f"corpus: {corpus_path.name}, {words:,} words; phrases: {options.passes} pass(es), min_count 5, "
            f"threshold {options.phrase_threshold:g}"
        )
        print(f"front end without phrases: {plain_seconds:.1f} s (reading {plain.seconds_reading:.1f} s)")
        print(
            f"front end with phrases:    {phrased_seconds:.1f} s (reading {phrased.seconds_reading:.1f} s, phrase step "
            f"{phrased.phrases.seconds:.1f} s: {phrased.phrases.learnt:,} learnt, {phrased.phrases.kept:,} kept)"
        )
        gensim_seconds, gensim_found = gensim_phrases(corpus_path, options.passes, options.phrase_threshold)
        ours = set(tokenizer_phrases(phrased.tokenizer))
        print(f"gensim Phrases, same passes: {gensim_seconds:.1f} s, {len(gensim_found):,} phrases")
        print(
            f"phrase step / gensim: {phrased.phrases.seconds / gensim_seconds:.3f}; kept phrases also gensim's: "
            f"{len(ours & gensim_found):,} of {len(ours):,}"
        )

        opener = gzip.open if corpus_path.suffix == ".gz" else open
        with opener(corpus_path, "rt") as lines:
            sample = [line.rstrip("\n") for line in itertools.islice(lines, SAMPLE_LINES)]
        with_phrases = phrased.tokenizer
        without = empty_word_level_tokenizer(vocab=plain.tokenizer.get_vocab())
        print(
            f"tokenization, {len(sample):,} lines: {tokens_per_second(without, sample):,.0f} words/s without phrases, "
            f"{tokens_per_second(with_phrases, sample):,.0f} words/s with {len(ours):,} phrases"
        )
        unk_id = with_phrases.token_to_id("[UNK]")
        by_tokenizer = np.array([i for e in with_phrases.encode_batch(sample) for i in e.ids if i != unk_id])
        sample_corpus = TextCorpus.from_text("\n".join(sample), name="sample")
        with tempfile.TemporaryDirectory() as workdir:
            again = encode_corpus(sample_corpus, TrainingArguments(**common), workdir, tokenizer=with_phrases)
            by_training = again.encoded.read()
        phrase_ids = np.array([with_phrases.token_to_id(phrase) for phrase in ours])
        print(
            f"sample ids: tokenizer {len(by_tokenizer):,}, training {len(by_training):,}, equal: "
            f"{np.array_equal(by_tokenizer, by_training)}; phrase tokens {np.isin(by_tokenizer, phrase_ids).sum():,} "
            f"and {np.isin(by_training, phrase_ids).sum():,}"
        )

        if options.train:
            settings = {
                "dim": options.dim, "window": options.window, "negative": options.negative, "sample": options.sample,
                "epochs": options.epochs, "lr_schedule": "gensim", **common,
            }  # fmt: skip
            for passes in (0, options.passes)[1 if options.no_baseline else 0 :]:
                arguments = TrainingArguments(phrases=passes, phrase_threshold=options.phrase_threshold, **settings)
                result = train_word2vec(corpus, arguments)
                model = result.model
                phrase_result = model.evaluate_word_analogies(questions)
                words_result = model.evaluate_word_analogies(shared / "data" / "eval" / "questions-words.txt", 30_000)
                pairs = model.evaluate_word_pairs(shared / "data" / "eval" / "wordsim353.tsv")
                print(
                    f"phrases={passes}: {model.config.vocab_size:,} rows, {result.seconds:.0f} s ({_phases(result)}); "
                    f"phrase analogies {phrase_result.accuracy:.3f} over "
                    f"{phrase_result.correct + phrase_result.incorrect} of 3,218 questions "
                    f"({_sections(phrase_result)}); Google analogies {words_result.accuracy:.3f}; "
                    f"WordSim-353 {pairs.spearman:.3f}"
                )


def _phases(result) -> str:
    return ", ".join(f"{name} {seconds:.0f} s" for name, seconds in result.phases.items())


def _sections(result) -> str:
    return ", ".join(f"{name} {right}/{right + wrong}" for name, (right, wrong) in result.sections.items())


if __name__ == "__main__":
    main()
