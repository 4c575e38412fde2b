"""Scripts written without spaces between words (Chinese, Japanese, Thai, Lao, Khmer, Myanmar), as patterns that
Python's `re` and the tokenizers' Rust regex engine read alike, and the choices of how to segment them.

Imports nothing heavy: the command line reads its choices from here.
"""

from __future__ import annotations

import re

# Han (CJK unified ideographs with extensions A to I, compatibility ideographs), the iteration marks 々〆〇,
# Hiragana and Katakana (with the prolonged-sound mark and small Ainu kana), Thai, Lao, Myanmar, Khmer.
# Hangul is not here: Korean puts spaces between words.
_UNSPACED_RANGES = (
    "\u3005-\u3007"
    "\u3041-\u309f"
    "\u30a0-\u30ff"
    "\u31f0-\u31ff"
    "\u3400-\u4dbf"
    "\u4e00-\u9fff"
    "\uf900-\ufaff"
    "\U00020000-\U0003ffff"
    "\u0e00-\u0e7f"
    "\u0e80-\u0eff"
    "\u1000-\u109f"
    "\u1780-\u17ff"
)
_HAN_RANGES = "\u3005-\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003ffff"
UNSPACED_CHARACTER = f"[{_UNSPACED_RANGES}]"
UNSPACED_RUN = f"[{_UNSPACED_RANGES}]+"
HAN_CHARACTER = f"[{_HAN_RANGES}]"
KANA_CHARACTER = "[\u3041-\u309f\u30a0-\u30ff\u31f0-\u31ff]"
THAI_CHARACTER = "[\u0e00-\u0e7f]"

# How text in those scripts becomes tokens. auto: words when such text is a real part of the corpus (at least
# AUTO_WORD_SHARE of its characters), single characters when it is a trace in other text; word: words;
# character: single characters; none: left inside whatever whitespace-separated word holds it (whole clauses).
SEGMENTATIONS = ("auto", "word", "character", "none")
# Where the words come from. auto: jieba's dictionary when jieba is installed and the text is Chinese, else the
# corpus's own statistics; jieba; corpus.
WORD_DISCOVERIES = ("auto", "jieba", "corpus")
AUTO_WORD_SHARE = 0.01

unspaced_character = re.compile(UNSPACED_CHARACTER)
unspaced_run = re.compile(UNSPACED_RUN)
han_character = re.compile(HAN_CHARACTER)
kana_character = re.compile(KANA_CHARACTER)
thai_character = re.compile(THAI_CHARACTER)
