"""Adding one article to the shipped library, against a full rebuild, in one run. Prints both times and
how many chunks each embedded; asserts nothing (tests/test_index_updates.py asserts the chunk counts).

Usage: python bench/bench_incremental.py
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rag.build import build_index  # noqa: E402
from rag.config import Settings  # noqa: E402
from rag.embedding import embedder_for  # noqa: E402


def main() -> None:
    settings = Settings()
    embedder = embedder_for(settings)
    new_article = ROOT / "tests" / "fixtures" / "corpus" / "cardio" / "hypertension.txt"
    with tempfile.TemporaryDirectory() as tmp:
        corpus, index = Path(tmp) / "corpus", Path(tmp) / "index"
        shutil.copytree(ROOT / "corpus", corpus)
        t = time.perf_counter()
        full = build_index(corpus, index, settings, embedder=embedder, full=True)
        full_s = time.perf_counter() - t
        shutil.copy(new_article, corpus / "cardiology" / "added-article.txt")
        t = time.perf_counter()
        add = build_index(corpus, index, settings, embedder=embedder)
        add_s = time.perf_counter() - t
        t = time.perf_counter()
        noop = build_index(corpus, index, settings, embedder=embedder)
        noop_s = time.perf_counter() - t
    print(json.dumps({
        "full_rebuild": {"seconds": round(full_s, 2), "embedded_chunks": full.embedded_chunks, "chunks": full.chunks},
        "add_one_article": {"seconds": round(add_s, 2), "embedded_chunks": add.embedded_chunks,
                            "reused_chunks": add.reused_chunks},
        "nothing_changed": {"seconds": round(noop_s, 2), "embedded_chunks": noop.embedded_chunks},
    }))
    print(f"Full rebuild {full_s:.1f} s ({full.embedded_chunks} chunks embedded); adding one article {add_s:.2f} s "
          f"({add.embedded_chunks} chunks embedded, {add.reused_chunks} re-used) = {add_s / full_s:.1%} of a full "
          f"rebuild; a rebuild with nothing changed {noop_s:.2f} s")


if __name__ == "__main__":
    main()
