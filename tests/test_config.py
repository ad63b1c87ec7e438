"""Settings from rag.toml and RAG_* variables: switches really switch, bad values are named."""

import pytest

from rag.config import load_settings


def test_boolean_switches_from_toml_and_environment(tmp_path, monkeypatch):
    toml = tmp_path / "rag.toml"
    toml.write_text("abstain_on_unknown_words = false\nmin_evidence = 0.6\n", encoding="utf-8")
    monkeypatch.setenv("RAG_ABSTAIN_WITHOUT_FIGURE", "off")
    s = load_settings(toml)
    assert s.abstain_on_unknown_words is False and s.abstain_without_figure is False and s.min_evidence == 0.6


def test_a_switch_that_is_not_a_boolean_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("RAG_ABSTAIN_WITHOUT_FIGURE", "perhaps")
    with pytest.raises(ValueError, match="abstain_without_figure must be true or false"):
        load_settings(tmp_path / "missing.toml")
