"""Neighbour queries per second on a large table: ours one at a time and in a batch, against gensim's KeyedVectors
holding the same vectors.

    python benchmarks/queries.py                          # 1M words x 300, 100 single queries, a batch of 1,000
    python benchmarks/queries.py --words 200000 --single 50 --batch 200   # a quick look
    python benchmarks/queries.py --threads 1              # one thread each side, as on a machine shared with others
    THP_MEM_ALLOC_ENABLE=1 python benchmarks/queries.py   # torch's large tensors on huge pages, as numpy's are

numpy asks Linux for transparent huge pages for large arrays (madvise), torch only with THP_MEM_ALLOC_ENABLE=1:
streaming a 1.2 GB table through 4 kB pages costs a query about a tenth more time, which is the whole of the
difference between the two sides without it (benchmarks/README.md).

The table is random (normal vectors) with Zipf counts; query words are drawn by those counts, as real queries
fall mostly on frequent words. Both sides' row norms are computed before the clock starts (gensim's `fill_norms`,
our `row_norms`: each side's first query does that once and keeps them, see `Word2VecModel.row_norms`). Each
answer is `most_similar(word, topn=10)`; the batch is `similar_by_word(words, topn=10)` on the model's device.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch


def build_model(words: int, dim: int, seed: int):
    """A Word2VecModel of `words` random vectors with Zipf counts, and its vocabulary."""
    from word2vec_hub.modeling import Word2VecConfig, Word2VecModel
    from word2vec_hub.tokenization.word_level import empty_word_level_tokenizer, wrap_tokenizer

    vocabulary = {"[PAD]": 0, "[UNK]": 1, **{f"w{index}": index + 2 for index in range(words)}}
    model = Word2VecModel(Word2VecConfig(vocab_size=words + 2, hidden_size=dim, has_context_vectors=False))
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        model.embeddings.normal_(generator=generator)
        model.embeddings[:2] = 0
        model.counts[2:] = (1e9 / torch.arange(1, words + 1, dtype=torch.float64)).long()
    model.set_tokenizer(wrap_tokenizer(empty_word_level_tokenizer(vocab=vocabulary, split_punctuation=False)))
    return model


def queries_per_second(count: int, run) -> float:
    start = time.perf_counter()
    run()
    return count / (time.perf_counter() - start)


def single_queries_per_second(model, keyed, words: list[str]) -> tuple[float, float]:
    """Queries/s of ours and gensim's `most_similar(word, topn=10)`, one word at a time, the two sides taking turns
    word by word, so that a change in the machine's load (others' jobs) weighs on both alike."""
    seconds = {"ours": 0.0, "gensim": 0.0}
    for word in words:
        for side, ask in (("ours", model.most_similar), ("gensim", keyed.most_similar)):
            start = time.perf_counter()
            ask(word, topn=10)
            seconds[side] += time.perf_counter() - start
    return len(words) / seconds["ours"], len(words) / seconds["gensim"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--words", type=int, default=1_000_000)
    parser.add_argument("--dim", type=int, default=300)
    parser.add_argument("--single", type=int, default=100, help="queries asked one at a time, on each side")
    parser.add_argument("--batch", type=int, default=1000, help="queries asked as one batch")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument(
        "--threads", type=int, help="CPU threads of torch and of numpy's BLAS (gensim) alike (default: as they are)"
    )
    options = parser.parse_args()

    from word2vec_hub import to_keyed_vectors

    model = build_model(options.words, options.dim, seed=0)
    keyed = to_keyed_vectors(model)
    keyed.fill_norms()
    if options.threads:
        from threadpoolctl import threadpool_limits

        # After gensim is imported: the BLAS libraries it loads are limited too.
        torch.set_num_threads(options.threads)
        threadpool_limits(options.threads)
    model.to(options.device)
    model.row_norms()
    rng = np.random.default_rng(1)
    ranks = np.minimum(rng.zipf(1.1, options.batch), options.words) - 1
    words = [f"w{rank}" for rank in ranks]
    singles = words[: options.single]

    ours_single, gensim_single = single_queries_per_second(model, keyed, singles)
    model.similar_by_word(words[:2], topn=10)  # warm-up: the first product of a batch shape allocates its buffers
    batch = []
    ours_batch = queries_per_second(len(words), lambda: batch.extend(model.similar_by_word(words, topn=10)))
    agree = sum(
        [word for word, _ in ours] == [word for word, _ in keyed.most_similar(query, topn=10)]
        for ours, query in zip(batch[:20], words[:20], strict=True)
    )

    from threadpoolctl import threadpool_info

    blas_threads = [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]
    print(
        f"table {options.words:,} x {options.dim} on {options.device}, torch threads {torch.get_num_threads()}, "
        f"numpy BLAS threads {blas_threads}, THP_MEM_ALLOC_ENABLE={os.environ.get('THP_MEM_ALLOC_ENABLE', 'unset')}"
    )
    print(f"gensim KeyedVectors.most_similar, one at a time: {gensim_single:9.1f} queries/s (turns with ours)")
    print(f"ours most_similar, one at a time:                {ours_single:9.1f} queries/s (turns with gensim's)")
    print(f"ours similar_by_word, a batch of {len(words):,}:          {ours_batch:9.1f} queries/s")
    print(f"ratio to gensim: single {ours_single / gensim_single:.2f}x, batch {ours_batch / gensim_single:.2f}x")
    print(f"same top 10 as gensim on {agree} of 20 batch queries checked")


if __name__ == "__main__":
    main()
