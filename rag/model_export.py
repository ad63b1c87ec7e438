"""The one-time ONNX export of a sentence-transformers model, cached by the model's content hash.

Why: importing torch and sentence-transformers takes seconds, and a query needs neither. The first process
that needs the fast backends loads the model with sentence-transformers once, exports its whole module
stack (transformer, pooling, normalisation, any dense layer) with `torch.onnx.export`, checks the export
against sentence-transformers on sample texts, and stores it with the model's own tokenizer. Every later
process reads `model.onnx` + `tokenizer.json` + `export.json` and never imports torch.

Where the cache lives: a user cache folder (`$XDG_CACHE_HOME/medcite-rag/models`, else
`~/.cache/medcite-rag/models`; Settings.model_cache / RAG_MODEL_CACHE overrides it). Not beside the index:
the export depends on the model alone, so every index, clone and test run on the machine shares one export
of a model instead of paying ~5 s (and 90 MB) per index folder, and `make clean-index` or a rebuild does not
throw it away. The key is a SHA-256 of the model folder's files, so a changed or different model (same name,
new weights) gets its own export and a stale one is never used.

Hashing 90 MB costs ~0.2 s, a sixth of the cold-start budget, so the hash of a folder is remembered in the
cache under the folder's file stamps (path, size, mtime): a changed file changes its stamp and is hashed
again.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

from filelock import FileLock

EXPORT_FORMAT = 2  # bumped when the layout of an export folder changes (2: model.ort.onnx added)
ONNX_OPSET = 17
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
OUTPUTS = ("token_embeddings", "sentence_embedding")
# The export is refused unless it gives the sentence-transformers vectors on the sample texts to this cosine.
MIN_COSINE = 0.99999
SAMPLES = (
    "How is myasthenia gravis diagnosed?",
    "Amyotrophic lateral sclerosis (ALS) is a progressive neurodegenerative disease affecting motor neurons "
    "in the brain and spinal cord; most patients die of respiratory failure within three to five years.",
    "Is it safe?",
)


OPTIMISED = "model.ort.onnx"  # the same graph after onnxruntime's fusions, what the onnx backend runs


class ExportError(RuntimeError):
    pass


def optimised_options():
    """Session options for the saved fused graph: nothing left to optimise at load time."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    return options


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "medcite-rag" / "models"


def _model_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and not any(part.startswith(".") for part in
                                                                          p.relative_to(folder).parts))


def content_hash(folder: Path, cache_dir: Path) -> str:
    """SHA-256 over the relative paths and bytes of every file in the model folder (hidden ones aside),
    remembered under the files' stamps."""
    folder = Path(folder).resolve()
    files = _model_files(folder)
    stamps = [[str(p.relative_to(folder)), st.st_size, st.st_mtime_ns] for p in files for st in [p.stat()]]
    memo_key = hashlib.sha256(json.dumps([str(folder), stamps]).encode()).hexdigest()
    memo = cache_dir / "hashes" / f"{memo_key}.txt"
    try:
        known = memo.read_text().strip()
        if len(known) == 64:
            return known
    except OSError:
        pass
    digest = hashlib.sha256()
    for p in files:
        digest.update(str(p.relative_to(folder)).encode() + b"\0")
        with p.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    value = digest.hexdigest()
    try:
        memo.parent.mkdir(parents=True, exist_ok=True)
        tmp = memo.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(value)
        os.replace(tmp, memo)
    except OSError:  # a read-only cache still works, it only hashes every time
        pass
    return value


def local_model_folder(load_path: str) -> Path:
    """The folder a model spec loads from: a path as given, or a name's snapshot in the local Hugging Face
    cache (never downloaded)."""
    path = Path(load_path)
    if path.is_dir():
        return path.resolve()
    from huggingface_hub import snapshot_download

    for repo in (load_path, f"sentence-transformers/{load_path}"):
        try:
            return Path(snapshot_download(repo, local_files_only=True))
        except Exception:  # not in the local cache under this name
            continue
    raise ExportError(f"model {load_path!r} is neither a folder nor in the local Hugging Face cache")


def export_folder(load_path: str, cache_dir: Path) -> Path:
    """Where the export of this model lives (whether or not it has been made yet)."""
    folder = local_model_folder(load_path)
    return Path(cache_dir) / f"{content_hash(folder, Path(cache_dir))[:32]}-v{EXPORT_FORMAT}"


def read_export(folder: Path) -> dict | None:
    """The export's metadata when the export is whole, else None."""
    try:
        meta = json.loads((folder / "export.json").read_text())
    except (OSError, ValueError):
        return None
    if meta.get("format") != EXPORT_FORMAT or not all((folder / f).is_file() for f in
                                                      ("model.onnx", OPTIMISED, "tokenizer.json")):
        return None
    return meta


def ensure_export(load_path: str, cache_dir: Path, log=None) -> tuple[Path, dict]:
    """The export folder of this model and its metadata, exporting it first if there is none. Two processes
    exporting at once: one waits for the other (a lock), and a folder appears whole or not at all."""
    target = export_folder(load_path, cache_dir)
    meta = read_export(target)
    if meta is not None:
        return target, meta
    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target) + ".lock"):
        meta = read_export(target)
        if meta is not None:
            return target, meta
        if log:
            log(f"exporting the embedding model to ONNX once, into {target}")
        tmp = Path(tempfile.mkdtemp(prefix=".tmp-export-", dir=target.parent))
        try:
            meta = export_model(load_path, tmp)
            if target.exists():
                shutil.rmtree(target)
            os.replace(tmp, target)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return target, meta


def export_model(load_path: str, out: Path) -> dict:
    """Load the model with sentence-transformers and write model.onnx, the tokenizer and export.json into
    `out`; raise ExportError when the export does not reproduce sentence-transformers' vectors."""
    import numpy as np
    import torch
    from sentence_transformers import SentenceTransformer

    started = time.perf_counter()
    model = SentenceTransformer(load_path, device="cpu", local_files_only=True).eval()
    tokenizer = model.tokenizer
    if not getattr(tokenizer, "is_fast", False):
        raise ExportError(f"model {load_path!r} has no fast tokenizer; use embedding_backend = \"torch\"")
    batch = tokenizer(list(SAMPLES), padding=True, truncation=True, max_length=model.max_seq_length,
                      return_tensors="pt")
    names = [n for n in INPUTS if n in batch]

    class Whole(torch.nn.Module):
        """The sentence-transformers module stack as one graph: token embeddings (for sentence vectors
        inside a chunk) and the model's own pooled, normalised sentence embedding."""

        def __init__(self, st):
            super().__init__()
            self.st = st

        def forward(self, *tensors):
            features = self.st(dict(zip(names, tensors)))
            return features["token_embeddings"], features["sentence_embedding"]

    axes = {n: {0: "batch", 1: "sequence"} for n in names}
    axes["token_embeddings"] = {0: "batch", 1: "sequence"}
    axes["sentence_embedding"] = {0: "batch"}
    import warnings

    with torch.inference_mode(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer warnings about shape-dependent Python branches
        torch.onnx.export(Whole(model), tuple(batch[n] for n in names), str(out / "model.onnx"),
                          input_names=names, output_names=list(OUTPUTS), dynamic_axes=axes,
                          opset_version=ONNX_OPSET, dynamo=False)
    tokenizer.backend_tokenizer.save(str(out / "tokenizer.json"))
    reference = model.encode(list(SAMPLES), normalize_embeddings=True, convert_to_numpy=True,
                             show_progress_bar=False)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    meta = {
        "format": EXPORT_FORMAT,
        "source": str(load_path),
        "inputs": names,
        "dimension": int(model.get_embedding_dimension()),
        "max_seq_length": int(model.max_seq_length),
        "pad_id": int(pad_id),
        # sentence-transformers lower-cases the text itself when the model says so (before the tokenizer)
        "do_lower_case": bool(getattr(model[0], "do_lower_case", False)),
        "modules": [type(m).__name__ for m in model],
        "opset": ONNX_OPSET,
        "torch": torch.__version__,
    }
    import onnxruntime as ort

    # onnxruntime's graph fusions (attention, layer norm, GELU) done once and saved: a process then opens
    # the fused graph without optimising it again, a quarter of a second less at every cold start. Extended
    # level, not "all": that one adds layouts specific to this CPU. OpenVINO reads the plain model.onnx.
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
    options.optimized_model_filepath = str(out / OPTIMISED)
    ort.InferenceSession(str(out / "model.onnx"), options, providers=["CPUExecutionProvider"])
    session = ort.InferenceSession(str(out / OPTIMISED), optimised_options(), providers=["CPUExecutionProvider"])
    got = session.run(["sentence_embedding"], {n: batch[n].numpy().astype(np.int64) for n in names})[0]
    got = got / np.linalg.norm(got, axis=1, keepdims=True)
    cosine = float((got * reference).sum(axis=1).min())
    if cosine < MIN_COSINE:
        raise ExportError(f"the ONNX export of {load_path!r} does not reproduce sentence-transformers (cosine "
                          f"{cosine:.6f}); use embedding_backend = \"torch\" for this model")
    meta["check_cosine"] = round(cosine, 7)
    meta["seconds"] = round(time.perf_counter() - started, 2)
    (out / "export.json").write_text(json.dumps(meta, indent=1))
    return meta
