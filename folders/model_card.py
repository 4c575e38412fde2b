"""The model card: YAML metadata for the Hub, a page a person reads, and a 2-D PCA map of well-known words."""

from __future__ import annotations

import json
import re
import warnings
from importlib.metadata import requires
from pathlib import Path

import torch
from huggingface_hub import EvalResult, ModelCard, ModelCardData
from packaging.requirements import Requirement
from transformers import PreTrainedTokenizerFast

from word2vec_hub.modeling import Word2VecConfig, Word2VecModel

from .atomic import replacing_file, write_file
from .checks import CARD_FILE

WORD_MAP_FILE = "word_map.png"
EVALUATION_FILE = "evaluation.json"
CARD_TEMPLATE = Path(__file__).with_name("model_card_template.md")
WELL_KNOWN_WORDS = (
    "king", "queen", "man", "woman", "boy", "girl",
    "paris", "france", "london", "england", "berlin", "germany",
    "monday", "friday", "january", "july",
    "one", "two", "three", "ten",
    "dog", "cat", "horse", "car", "truck", "train",
    "computer", "software", "chip", "market", "stock", "bank", "money", "president", "company",
)  # fmt: skip


# How the tokenizer.json steps read in a sentence; a step not listed here is named by its type.
NORMALIZER_NAMES = {"NFC": "NFC", "NFD": "NFD", "NFKC": "NFKC", "NFKD": "NFKD", "Lowercase": "lowercase"}
PRE_TOKENIZER_NAMES = {
    "Whitespace": "split at whitespace and punctuation",
    "WhitespaceSplit": "split at whitespace only",
}


def remote_code_transformers() -> str:
    """The transformers versions the model code copied to the Hub (`modeling_word2vec.py`) works with, as this
    package's own requirement states them."""
    requirements = (Requirement(text) for text in requires("word2vec-hub"))
    transformers = next(requirement for requirement in requirements if requirement.name == "transformers")
    lower_bounds_first = sorted(transformers.specifier, key=lambda specifier: not specifier.operator.startswith(">"))
    return "transformers " + ", ".join(str(specifier) for specifier in lower_bounds_first)


def tokenizer_outline(tokenizer: PreTrainedTokenizerFast) -> dict:
    """The parts of `tokenizer`'s tokenizer.json that the card describes (normalizer, pre_tokenizer, model type),
    without serializing the vocabulary (a million words take a second each way)."""
    backend = tokenizer.backend_tokenizer
    steps = {"normalizer": backend.normalizer, "pre_tokenizer": backend.pre_tokenizer}
    outline = {name: None if step is None else json.loads(step.__getstate__()) for name, step in steps.items()}
    return {**outline, "model": {"type": type(backend.model).__name__}}


def describe_text_processing(tokenizer_json: dict) -> str:
    """What a saved `tokenizer.json` does to text before the vocabulary lookup, in words ("NFKC, lowercase; split
    at whitespace only")."""
    normalizer = tokenizer_json.get("normalizer")
    steps = [] if normalizer is None else normalizer.get("normalizers", [normalizer])
    normalization = ", ".join(NORMALIZER_NAMES.get(step["type"], step["type"]) for step in steps)
    pre_tokenizer = tokenizer_json.get("pre_tokenizer")
    unspaced = ""
    if pre_tokenizer is not None and pre_tokenizer["type"] == "Sequence":
        # Ours: whitespace (and punctuation), then runs of Chinese, Japanese or Thai cut out (see tokenization/).
        pre_tokenizer = pre_tokenizer["pretokenizers"][0]
        unspaced = ", then Chinese, Japanese and Thai text cut out of its neighbours"
    splitting = (
        "no pre-tokenizer"
        if pre_tokenizer is None
        else PRE_TOKENIZER_NAMES.get(pre_tokenizer["type"], f"{pre_tokenizer['type']} pre-tokenizer")
    )
    return f"{normalization or 'no normalisation, case kept'}; {splitting}{unspaced}"


def describe_vocabulary(tokenizer_json: dict) -> str:
    """How a saved `tokenizer.json` maps pieces of text to rows, in words."""
    if tokenizer_json["model"]["type"] == "Unigram":
        return (
            "a Unigram model that segments Chinese, Japanese and Thai text into the vocabulary's words inside "
            "tokenizer.json, so that any tokenizers-based loader segments as training did"
        )
    return "a WordLevel vocabulary"


# Fonts with Chinese, Japanese and Thai glyphs, used where installed (matplotlib's own font has none).
FALLBACK_FONTS = (
    "Noto Sans CJK SC", "Noto Sans CJK JP", "Source Han Sans SC", "WenQuanYi Zen Hei", "WenQuanYi Micro Hei",
    "Droid Sans Fallback", "AR PL UMing CN", "SimHei", "Microsoft YaHei", "PingFang SC", "Hiragino Sans",
    "Noto Sans Thai",
)  # fmt: skip


def map_words(model: Word2VecModel, limit: int = 30) -> list[str]:
    """Well-known words the model knows; the most frequent words fill up when too few are known."""
    words = [word for word in WELL_KNOWN_WORDS if word in model][:limit]
    for word in (model.index_to_key[row] for row in model.word_ids()):
        if len(words) >= min(limit, 20):
            break
        if word not in words and any(character.isalpha() for character in word):
            words.append(word)
    return words


class WordMapUnavailable(ValueError):
    """The word map cannot be drawn for this model; the message says why, for the card's note."""


def word_map_points(model: Word2VecModel, words: list[str]) -> torch.Tensor:
    """The unit vectors of `words` on their first two principal components (`[words, 2]`), or WordMapUnavailable
    where the table has no such picture: fewer than two words or dimensions, or vectors that are not finite."""
    if len(words) < 2:
        raise WordMapUnavailable(f"the vocabulary has {len(words)} word(s) of letters to place, and a map needs two")
    if model.config.hidden_size < 2:
        raise WordMapUnavailable("the vectors have one dimension, and a map needs two")
    vectors = torch.stack([model.get_vector(word, norm=True) for word in words]).cpu().double()
    if not torch.isfinite(vectors).all():
        raise WordMapUnavailable("some of the vectors to place are not finite numbers (training diverged?)")
    centered = vectors - vectors.mean(0)
    _, _, right = torch.linalg.svd(centered, full_matrices=False)
    return centered @ right[:2].T


def draw_word_map(model: Word2VecModel, path: Path) -> list[str]:
    """Save a PNG of the words of `map_words` projected on their first two principal components (atomically: a
    crash leaves the old picture or the new one); WordMapUnavailable, with nothing written, where the table has
    no such picture. Chinese, Japanese and Thai words need one of FALLBACK_FONTS installed; without one they show
    as empty boxes, and a warning names the font package to install."""
    words = map_words(model)
    points = word_map_points(model, words).numpy()
    import matplotlib
    from matplotlib import font_manager
    from matplotlib.figure import Figure

    installed = {font.name for font in font_manager.fontManager.ttflist}
    families = [matplotlib.rcParams["font.family"][0], *(name for name in FALLBACK_FONTS if name in installed)]
    with matplotlib.rc_context({"font.family": families}), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Glyph .* missing from font")
        # A Figure of its own, not pyplot's: the caller's backend (a notebook's inline plots) and figures stay as
        # they were.
        figure = Figure(figsize=(7, 6), dpi=100)
        axes = figure.subplots()
        axes.scatter(points[:, 0], points[:, 1], s=14, color="#3b6ea8")
        for (x, y), word in zip(points, words, strict=True):
            axes.annotate(word, (x, y), xytext=(3, 3), textcoords="offset points", fontsize=9)
        axes.set_title("Word vectors, first two principal components")
        axes.set_xticks([])
        axes.set_yticks([])
        figure.tight_layout()
        with replacing_file(path) as temporary:
            figure.savefig(temporary, format="png")
        missing = characters_without_glyphs("".join(words), families)
    if missing:
        warnings.warn(
            f"no installed font has glyphs for {''.join(missing[:10])}, so the word map ({path.name}) shows them as "
            "empty boxes; install a font that has them (Debian/Ubuntu: apt install fonts-noto-cjk for Chinese and "
            "Japanese, fonts-thai-tlwg for Thai) and save the model again",
            stacklevel=2,
        )
    return words


def characters_without_glyphs(text: str, families: list[str]) -> list[str]:
    """The distinct characters of `text`, whitespace aside, that none of the font `families` can draw."""
    from matplotlib import font_manager, ft2font

    covered: set[int] = set()
    for family in families:
        try:
            font_file = font_manager.findfont(font_manager.FontProperties(family=[family]), fallback_to_default=False)
        except ValueError:
            continue
        covered.update(ft2font.FT2Font(font_file).get_charmap())
    return sorted({character for character in text if not character.isspace() and ord(character) not in covered})


def load_evaluation(folder: Path) -> list[dict]:
    """Results stored by `word2vec evaluate --write-card`: a list of {task, dataset, metric, value} records."""
    path = folder / EVALUATION_FILE
    return json.loads(path.read_text()) if path.exists() else []


def build_model_card(
    model: Word2VecModel,
    model_id: str,
    evaluation: list[dict] | None = None,
    license: str = "other",
    language: str | None = None,
    tokenizer: PreTrainedTokenizerFast | None = None,
    word_map_missing: str | None = None,
) -> ModelCard:
    """The card of `model`, from `model_card_template.md` and the config: `tokenizer` is the one saved beside it
    (default: the model's own), whose normalisation and splitting the card states; `evaluation` gives the
    `model-index` results; `word_map_missing`: why there is no word map (None: the card shows it)."""
    config = model.config
    tokenizer_json = tokenizer_outline(tokenizer or model.tokenizer)
    evaluation = evaluation or []
    converted = is_converted(config)
    data = ModelCardData(
        library_name="transformers",
        pipeline_tag="feature-extraction",
        tags=["word2vec", *([] if converted else [config.architecture]), "static-embeddings"],
        license=license,
        language=language,
        model_name=model_id,
        eval_results=[
            EvalResult(
                task_type=record["task"],
                dataset_type=record["dataset"],
                dataset_name=record.get("dataset_name", record["dataset"]),
                metric_type=record["metric"],
                metric_name=record.get("metric_name", record["metric"]),
                metric_value=record["value"],
            )
            for record in evaluation
        ]
        or None,
    )
    words = config.vocab_size - 2
    training = (config.corpus or "a vector file") if converted else describe_training(config)
    shape = f"{words:,} words × {config.hidden_size} dimensions"
    summary = (
        f"Word vectors converted from {training}, {shape}."
        if converted
        else f"Word2vec word vectors: {describe_architecture(config)}, {shape}, trained on {training}."
    )
    output_layers = [
        *(["negative sampling's output vectors (`context`)"] if config.has_context_vectors else []),
        *(
            ["hierarchical softmax's inner-node vectors (`nodes`, over the Huffman tree of the counts)"]
            if config.hs
            else []
        ),
    ]
    if output_layers:
        head = f"{', '.join(output_layers)} and the word counts"
    elif converted:
        head = "the word counts (this model has no output layer: it was converted from a vector file)"
    else:
        head = "the word counts (the output layers were left out when the folder was made smaller)"
    card = ModelCard.from_template(
        data,
        template_path=str(CARD_TEMPLATE),
        model_id=model_id,
        summary=summary,
        head=head,
        text_processing=describe_text_processing(tokenizer_json),
        vocabulary=describe_vocabulary(tokenizer_json),
        word_map_file=WORD_MAP_FILE,
        word_map_missing=word_map_missing,
        transformers_requirement=remote_code_transformers(),
        converted=converted,
        training=training,
        words=words,
        hidden_size=config.hidden_size,
        min_count=config.min_count,
        architecture=describe_architecture(config),
        hyperparameters=[(name, getattr(config, name)) for name in Word2VecConfig.training_hyperparameters],
        evaluation=evaluation,
        size=describe_size(config),
    )
    # The template's optional sections leave runs of blank lines where they are empty.
    return ModelCard(re.sub(r"\n{3,}", "\n\n", str(card)).rstrip("\n") + "\n")


# What each dtype costs and which loaders read it (tests/test_shrink.py checks each loader on each dtype).
TABLE_DTYPE_NOTES = {
    "float16": "float16 (half the size of float32; about 3 significant digits a value)",
    "bfloat16": "bfloat16 (half the size of float32; about 2 significant digits a value, float32's range). model2vec "
    "cannot read it (numpy has no bfloat16): use float16 or int8 for model2vec",
    "int8": "int8 with a float32 scale a row (`weights`, which model2vec and sentence-transformers multiply in as "
    "per-token weights): a quarter of the size of float32, each value within half its row's scale",
}


def describe_size(config: Word2VecConfig) -> str | None:
    """The card's paragraph on how the folder was made smaller (dtype, pruning, PCA); None for a full float32
    folder."""
    sentences = []
    if config.table_dtype not in (None, "float32"):
        sentences.append(
            f"The vectors are stored as {TABLE_DTYPE_NOTES[config.table_dtype]}; `from_pretrained` returns them in "
            "float32, or in the `dtype` you pass."
        )
    shrink = config.shrink or {}
    if "max_vocab" in shrink and shrink["vocab_size_before"] != config.vocab_size:
        sentences.append(
            f"Only the {config.vocab_size - 2:,} most frequent words of the {shrink['vocab_size_before'] - 2:,} of the "
            "model it was made from are kept (`max_vocab`)."
        )
    if "pca_dims" in shrink:
        sentences.append(
            f"The vectors were projected from {shrink['hidden_size_before']} to {shrink['pca_dims']} dimensions on "
            f"their principal components (centred, as model2vec's `pca_dims`), keeping "
            f"{shrink['pca_variance_kept']:.1%} of their variance."
        )
    return " ".join(sentences) or None


def is_converted(config: Word2VecConfig) -> bool:
    """Vectors converted from a file rather than trained here (folders of 0.2.0 and earlier record no
    architecture: theirs are the ones without a skip-gram head that trained no epoch)."""
    return config.architecture is None or (not config.has_context_vectors and config.epochs == 0)


def describe_architecture(config: Word2VecConfig) -> str:
    """The architecture and its output layers, as gensim's sg, cbow_mean, hs and negative set them, and its
    subwords."""
    if config.architecture == "cbow":
        architecture = f"CBOW (the {'mean' if config.cbow_mean else 'sum'} of each window's vectors)"
        example = "window"
    else:
        architecture, example = config.architecture, "pair"
    layers = [
        *(["hierarchical softmax"] if config.hs else []),
        *([f"negative sampling ({config.negative} noise words a {example})"] if config.negative > 0 else []),
    ]
    kept = (
        f", of which the {config.ngram_rows:,} its vocabulary's n-grams use are kept"
        if config.ngram_rows is not None
        else ""
    )
    subwords = (
        f", with fastText's subwords (character {config.min_n}- to {config.max_n}-grams hashed into "
        f"{config.bucket:,} buckets{kept}: a word's vector is the mean of its own and its n-grams' vectors)"
        if config.bucket > 0
        else ""
    )
    return f"{architecture} with {' and '.join(layers)}{subwords}"


def describe_training(config: Word2VecConfig) -> str:
    """What the model was trained on: each stage's corpus and word count (and epochs where there were several
    stages), oldest first."""
    stages = config.training_history or [
        {"corpus": config.corpus, "corpus_word_count": config.corpus_word_count, "epochs": config.epochs}
    ]
    if len(stages) == 1:
        return f"{stages[0]['corpus'] or 'an unnamed corpus'} ({stages[0]['corpus_word_count']:,} words)"
    return ", then ".join(
        f"{stage['corpus'] or 'an unnamed corpus'} ({stage['corpus_word_count']:,} words, {stage['epochs']} epochs)"
        for stage in stages
    )


def write_model_card(
    model: Word2VecModel,
    folder: Path,
    model_id: str | None = None,
    license: str | None = None,
    language: str | None = None,
    tokenizer: PreTrainedTokenizerFast | None = None,
) -> None:
    """Write README.md and the word map into a model folder, each atomically (a model whose map cannot be drawn
    gets a card that says why instead); license and language not given are kept from the card already there. The
    card describes `tokenizer`, the one saved in the folder (default: the model's own)."""
    folder = Path(folder)
    if (folder / CARD_FILE).exists():
        previous = ModelCard.load(folder / CARD_FILE).data
        license = license or previous.license
        language = language or previous.language
        model_id = model_id or previous.model_name
    try:
        draw_word_map(model, folder / WORD_MAP_FILE)
        word_map_missing = None
    except WordMapUnavailable as reason:
        # The picture is an illustration: a table without one is still saved, and its card says why.
        word_map_missing = str(reason)
    card = build_model_card(
        model,
        model_id or folder.name,
        load_evaluation(folder),
        license=license or "other",
        language=language,
        tokenizer=tokenizer,
        word_map_missing=word_map_missing,
    )
    write_file(folder / CARD_FILE, str(card))


def write_evaluation(model: Word2VecModel, folder: Path, records: list[dict]) -> None:
    """Store benchmark results in the folder's evaluation.json and its model card, each file written atomically."""
    folder = Path(folder)
    write_file(folder / EVALUATION_FILE, json.dumps(records, indent=2) + "\n")
    write_model_card(model, folder)
