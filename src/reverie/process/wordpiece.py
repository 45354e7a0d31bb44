"""BERT's uncased WordPiece tokenizer in plain Python, for the ONNX sentence model.

all-MiniLM-L6-v2 reads word pieces of the ``bert-base-uncased`` vocabulary (30,522
entries, shipped as ``data/minilm-vocab.txt``; Apache-2.0, as the model). The steps are
those of BERT's reference tokenizer (Devlin et al. 2019, "BERT: Pre-training of Deep
Bidirectional Transformers for Language Understanding", NAACL; the WordPiece algorithm
is Wu et al. 2016, "Google's Neural Machine Translation System", arXiv:1609.08144):

1. clean: drop NUL, U+FFFD and control characters, turn every whitespace into a space;
2. put spaces around CJK ideographs;
3. lower-case, then strip accents (Unicode NFD without combining marks);
4. split on whitespace and around every punctuation character (ASCII symbols count as
   punctuation, as in BERT);
5. cut each word greedily into the longest vocabulary pieces from the left, later pieces
   prefixed ``##``; a word longer than 100 characters, or one that cannot be cut, is
   ``[UNK]``.

tests/process/test_wordpiece.py checks that the ids equal those of the Hugging Face
``tokenizers`` implementation on the evaluation set and on awkward inputs whenever the
optional ``nlp`` extra is installed. Pure Python; no Django, no numpy.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache
from pathlib import Path

__all__ = ["VOCAB_PATH", "WordPiece"]

VOCAB_PATH = Path(__file__).resolve().parent / "data" / "minilm-vocab.txt"
_MAX_WORD_CHARS = 100


def _is_whitespace(ch: str) -> bool:
    if ch in " \t\n\r":
        return True
    return unicodedata.category(ch) == "Zs"


def _is_control(ch: str) -> bool:
    if ch in "\t\n\r":
        return False
    return unicodedata.category(ch) in ("Cc", "Cf")


def _is_punctuation(ch: str) -> bool:
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def _is_cjk(cp: int) -> bool:
    return (
        0x4E00 <= cp <= 0x9FFF
        or 0x3400 <= cp <= 0x4DBF
        or 0x20000 <= cp <= 0x2A6DF
        or 0x2A700 <= cp <= 0x2B73F
        or 0x2B740 <= cp <= 0x2B81F
        or 0x2B820 <= cp <= 0x2CEAF
        or 0xF900 <= cp <= 0xFAFF
        or 0x2F800 <= cp <= 0x2FA1F
    )


class WordPiece:
    """Text to the ``input_ids`` BERT expects: ``[CLS] pieces… [SEP]``.

    >>> tok = WordPiece()
    >>> tok.tokenize("Unbelievably, I dreamt!")
    ['un', '##bel', '##ie', '##va', '##bly', ',', 'i', 'dream', '##t', '!']
    >>> tok.encode("Hello world.")
    [101, 7592, 2088, 1012, 102]
    """

    def __init__(self, vocab_path: Path = VOCAB_PATH) -> None:
        words = vocab_path.read_text(encoding="utf-8").split("\n")
        if words and words[-1] == "":
            words.pop()
        self.vocab: dict[str, int] = {w: i for i, w in enumerate(words)}
        self.unk = self.vocab["[UNK]"]
        self.cls = self.vocab["[CLS]"]
        self.sep = self.vocab["[SEP]"]
        self.pad = self.vocab["[PAD]"]
        self._pieces = lru_cache(maxsize=65536)(self._wordpiece)

    @staticmethod
    def _basic(text: str) -> list[str]:
        out: list[str] = []
        for ch in text:
            cp = ord(ch)
            if cp == 0 or cp == 0xFFFD or _is_control(ch):
                continue
            if _is_whitespace(ch):
                out.append(" ")
            elif _is_cjk(cp):
                out.append(f" {ch} ")
            else:
                out.append(ch)
        cleaned = unicodedata.normalize("NFD", "".join(out).lower())
        cleaned = "".join(c for c in cleaned if unicodedata.category(c) != "Mn")
        words: list[str] = []
        for token in cleaned.split():
            current: list[str] = []
            for ch in token:
                if _is_punctuation(ch):
                    if current:
                        words.append("".join(current))
                        current = []
                    words.append(ch)
                else:
                    current.append(ch)
            if current:
                words.append("".join(current))
        return words

    def _wordpiece(self, word: str) -> tuple[str, ...]:
        if len(word) > _MAX_WORD_CHARS:
            return ("[UNK]",)
        pieces: list[str] = []
        start = 0
        while start < len(word):
            end = len(word)
            found = None
            while start < end:
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                if piece in self.vocab:
                    found = piece
                    break
                end -= 1
            if found is None:
                return ("[UNK]",)
            pieces.append(found)
            start = end
        return tuple(pieces)

    def tokenize(self, text: str) -> list[str]:
        """The word pieces of ``text``, without the special tokens."""
        return [p for word in self._basic(text) for p in self._pieces(word)]

    def encode(self, text: str, max_length: int = 256) -> list[int]:
        """``[CLS]`` + pieces + ``[SEP]``, truncated to ``max_length`` ids in all."""
        if max_length < 2:
            raise ValueError("max_length must leave room for [CLS] and [SEP]")
        ids = [self.vocab.get(p, self.unk) for p in self.tokenize(text)]
        return [self.cls, *ids[: max_length - 2], self.sep]
