"""Dense, BM25 and hybrid retrieval on a real index."""

import pytest

QUESTIONS = {
    "Is ALS a disease of the muscles or the nerves?": "neuro/als-overview",
    "Which antibodies confirm myasthenia gravis?": "neuro/myasthenia-gravis",
    "What drug should I start for hypertension?": "cardio/hypertension",
    "single fibre EMG jitter": "neuro/myasthenia-gravis",
}


@pytest.mark.parametrize("mode", ["hybrid", "dense", "bm25"])
@pytest.mark.parametrize("question, article", list(QUESTIONS.items()))
def test_each_retriever_finds_the_right_article_first(pipeline, mode, question, article):
    result = pipeline.retriever.search(question, top_k=8, per_article=3, mode=mode)
    assert result.hits[0].chunk.article_id == article


def test_hits_are_capped_per_article_and_carry_scores(pipeline):
    result = pipeline.retriever.search("motor neurons ALS TDP-43 survival", top_k=8, per_article=2)
    per = {}
    for h in result.hits:
        per[h.chunk.article_id] = per.get(h.chunk.article_id, 0) + 1
        assert -1.0 <= h.dense <= 1.0 and h.score > 0
    assert max(per.values()) <= 2
    assert [h.rank for h in result.hits] == list(range(1, len(result.hits) + 1))
    assert result.hits[0].dense > 0.4
    assert set(result.timings_ms) == {"embed", "dense", "bm25", "fuse"}


def test_unknown_words_do_not_break_bm25(pipeline):
    assert pipeline.retriever.lexical("zzqx qqwv", 10) == []
    assert pipeline.retriever.search("zzqx qqwv", mode="bm25").hits == []


def test_bad_mode_is_refused(pipeline):
    with pytest.raises(ValueError, match="hybrid, dense, bm25"):
        pipeline.retriever.search("x", mode="magic")
