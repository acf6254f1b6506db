"""``questions.model: auto`` (the default): the daemon answers with the shipped mm-LLM
(``runtime.models.DEFAULT_MMLLM``) when it is installed and reads the activity model's embeddings,
else with the base LLM; a named model is used as named."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from runtime.models import ModelError
from runtime.questions.loader import AUTO, model_dir
from runtime.questions.settings import QuestionSettings


def test_auto_is_the_default_and_means_the_base_llm_when_no_mm_llm_is_installed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MMFM_MODELS", str(tmp_path / "models"))
    monkeypatch.setattr("runtime.models.DEFAULT_MMLLM", "no-such-mmllm")  # whatever models/ ships
    assert QuestionSettings().model == AUTO
    assert model_dir(QuestionSettings(), "clmp_points_v2") is None
    assert model_dir(QuestionSettings(model=None)) is None
    with pytest.raises(ModelError, match="no-such-model"):
        model_dir(QuestionSettings(model="no-such-model"))


def test_auto_picks_an_installed_mm_llm_that_reads_the_activity_models_embeddings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    pytest.importorskip("torch")
    from test_export_gguf import write_checkpoint

    from exporters.gguf import export_mmllm

    models = tmp_path / "models"
    write_checkpoint(tmp_path / "ckpt")
    folder = export_mmllm(tmp_path / "ckpt", models / "mmllm-test")
    monkeypatch.setenv("MMFM_MODELS", str(models))
    monkeypatch.setattr("runtime.models.DEFAULT_MMLLM", "mmllm-test")
    encoder = json.loads((Path(folder) / "card.json").read_text())["encoder"]
    assert model_dir(QuestionSettings(), encoder) == Path(folder)
    assert model_dir(QuestionSettings(), None) == Path(folder)  # activities off: any encoder
    with caplog.at_level(logging.WARNING):
        assert model_dir(QuestionSettings(), "another_clmp") is None
    assert "answering with the base LLM" in caplog.text and encoder in caplog.text
    # a named model is used as named, whatever the activity model
    assert model_dir(QuestionSettings(model=str(folder)), "another_clmp") == Path(folder)


def test_an_mm_llm_that_names_its_encoder_by_folder_matches_the_activity_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``mmfm export llm --encoder clmp-points-v2`` records the folder name; the activity model's
    card says ``clmp_points_v2``: either name identifies the encoder."""
    pytest.importorskip("torch")
    from test_export_gguf import write_checkpoint

    from exporters.gguf import export_mmllm
    from runtime.models import load_model

    encoder = load_model("clmp-points-v2")
    assert encoder.name != encoder.path.name  # the case this guards
    models = tmp_path / "models"
    write_checkpoint(tmp_path / "ckpt")
    folder = export_mmllm(tmp_path / "ckpt", models / "mmllm-test", encoder=encoder.path.name)
    monkeypatch.setenv("MMFM_MODELS", str(models))
    monkeypatch.setattr("runtime.models.DEFAULT_MMLLM", "mmllm-test")
    assert model_dir(QuestionSettings(), encoder.names) == Path(folder)
