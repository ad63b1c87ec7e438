"""Writing an evaluation run to disk for a person to read: metrics.json, results.jsonl, report.md, PNG
plots and report.html (one file to open in a browser: the same tables, the plots inline, and the worst
questions with their whole answers and the passages they cite); and comparing two runs.

matplotlib is part of the default install, so every report has its plots; it is imported only here, when a
report is written, so that `rag ask` and `rag serve` never pay for it."""

from __future__ import annotations

import base64
import html
import json
from dataclasses import asdict
from pathlib import Path

from rag.evaluate import KS, Result, first_gold_rank

HEADLINE = [
    ("retrieval", "recall@1"), ("retrieval", "recall@5"), ("retrieval", "mrr@10"), ("retrieval", "ndcg@10"),
    ("answer", "key_fact_recall"), ("answer", "token_f1"), ("answer", "top_chunk_token_f1"),
    ("answer", "best_chunk_token_f1"), ("answer", "rouge_l"), ("answer", "yes_no_accuracy"),
    ("answer", "verdict_coverage"), ("answer", "verdict_precision"), ("answer", "wrong_verdict_rate"),
    ("citations", "precision"), ("citations", "source_recall"),
    ("abstention", "precision"), ("abstention", "recall"), ("abstention", "f1"),
    ("abstention", "false_abstention_rate"),
]


def fmt(value) -> str:
    if value is None:
        return "–"
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def badness(r: Result) -> float:
    """How wrong one answer is, for picking the worst questions to show."""
    if not r.answerable:
        return 0.0 if r.abstained else 1.5
    if r.abstained:
        return 2.0
    rank = first_gold_rank(r)
    miss = 1.0 if rank is None else (0.5 if rank > 1 else 0.0)
    facts = 1.0 - (len(r.facts_found) / len(r.key_facts)) if r.key_facts else 0.0
    wrong_polarity = 0.5 if r.decision in ("yes", "no") and r.polarity != r.decision else 0.0
    return miss + facts + wrong_polarity


def flatten(metrics: dict, prefix: str = "") -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    for key, value in metrics.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, name + "."))
        elif isinstance(value, (int, float)) or value is None:
            out[name] = value
    return out


def _plots(out: Path, by_mode: dict[str, list[Result]], primary: str, metrics: dict) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    ks = list(range(1, 11))
    fig, ax = plt.subplots(figsize=(6, 4))
    for mode, results in by_mode.items():
        rs = [r for r in results if r.answerable and r.gold_article_ids]
        ranks = [first_gold_rank(r) for r in rs]
        ax.plot(ks, [sum(1 for x in ranks if x and x <= k) / max(len(rs), 1) for k in ks], marker="o", label=mode)
    ax.set_xlabel("k (distinct articles)")
    ax.set_ylabel("recall@k")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend()
    ax.set_title("Retrieval recall@k by retriever")
    fig.tight_layout()
    fig.savefig(out / "recall_at_k.png", dpi=110)
    plt.close(fig)
    written.append("recall_at_k.png")

    fig, ax = plt.subplots(figsize=(6, 4))
    ax.hist([r.latency_ms for r in by_mode[primary]], bins=30, color="#4477aa")
    ax.set_xlabel("ask latency (ms)")
    ax.set_ylabel("questions")
    ax.set_title(f"Latency ({primary}): p50 {fmt(metrics['latency_ms']['p50'])} ms, p95 {fmt(metrics['latency_ms']['p95'])} ms")
    fig.tight_layout()
    fig.savefig(out / "latency_hist.png", dpi=110)
    plt.close(fig)
    written.append("latency_hist.png")

    types = list(metrics["by_type"])
    r5 = [metrics["by_type"][t]["retrieval"]["recall@5"] or 0.0 for t in types]
    kf = [metrics["by_type"][t]["answer"]["key_fact_recall"] or 0.0 for t in types]
    fig, ax = plt.subplots(figsize=(8, 4))
    xs = range(len(types))
    ax.bar([x - 0.2 for x in xs], r5, width=0.4, label="recall@5")
    ax.bar([x + 0.2 for x in xs], kf, width=0.4, label="key_fact_recall")
    ax.set_xticks(list(xs), types, rotation=30, ha="right")
    ax.set_ylim(0, 1.02)
    ax.legend(loc="lower right")
    ax.set_title("By question type")
    fig.tight_layout()
    fig.savefig(out / "by_type.png", dpi=110)
    plt.close(fig)
    written.append("by_type.png")
    return written


def write_report(out: Path, *, gold_path: str, index_info: dict, primary: str, metrics: dict,
                 by_mode_metrics: dict[str, dict], by_mode: dict[str, list[Result]], turns: list[Result] | None,
                 unknown_articles: list[str], seconds: float, followup_baselines: dict | None = None) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2))
    (out / "metrics_by_retriever.json").write_text(json.dumps(by_mode_metrics, indent=2))
    with (out / "results.jsonl").open("w") as fh:
        for r in by_mode[primary] + (turns or []):
            fh.write(json.dumps(asdict(r), ensure_ascii=False) + "\n")
    plots = _plots(out, by_mode, primary, metrics)

    lines = ["# Evaluation report", "",
             f"Gold file `{gold_path}`: {metrics['n_questions']} questions, {metrics['n_conversations']} conversations. "
             f"Index {index_info.get('generation')} ({index_info.get('articles')} articles, {index_info.get('chunks')} chunks, "
             f"model {index_info.get('model')}). Headline retriever: **{primary}**. Run took {seconds:.1f} s.", ""]
    if unknown_articles:
        lines += ["**Gold article ids not in the index** (those questions can never be found; fix the gold file or the corpus): "
                  + ", ".join(f"`{a}`" for a in unknown_articles), ""]
    lines += ["## Headline", "", "| metric | value |", "|---|---|"]
    lines += [f"| {group}.{name} | {fmt(metrics[group][name])} |" for group, name in HEADLINE]
    for name, value in metrics["followups"].items():
        lines.append(f"| followups.{name} | {fmt(value)} |")
    lines += [f"| latency_ms.p50 | {fmt(metrics['latency_ms']['p50'])} |",
              f"| latency_ms.p95 | {fmt(metrics['latency_ms']['p95'])} |", ""]

    lines += ["## Retrievers side by side", "",
              "Every question asked through the same pipeline with each retriever; what each part buys.", "",
              "| metric | " + " | ".join(by_mode_metrics) + " |", "|---|" + "---|" * len(by_mode_metrics)]
    rows = [("retrieval", f"recall@{k}") for k in KS] + [("retrieval", "mrr@10"), ("retrieval", "ndcg@10"),
            ("answer", "key_fact_recall"), ("answer", "token_f1"), ("answer", "top_chunk_token_f1"),
            ("answer", "best_chunk_token_f1"), ("answer", "yes_no_accuracy"), ("answer", "verdict_coverage"),
            ("answer", "verdict_precision"), ("answer", "wrong_verdict_rate"), ("citations", "source_recall"),
            ("abstention", "f1"), ("abstention", "false_abstention_rate")]
    for group, name in rows:
        lines.append(f"| {group}.{name} | " + " | ".join(fmt(m[group][name]) for m in by_mode_metrics.values()) + " |")
    lines.append("| latency_ms.p50 | " + " | ".join(fmt(m["latency_ms"]["p50"]) for m in by_mode_metrics.values()) + " |")
    lines.append("")

    if followup_baselines:
        (out / "followups.json").write_text(json.dumps(followup_baselines, indent=2))
        names = {"rewrite": "rewritten in context (the chat)", "alone": "follow-up alone",
                 "concatenate": "all history concatenated"}
        lines += ["## Follow-ups: reading them in context vs two naive baselines", "",
                  "| strategy | recall@5 first turn | recall@5 follow-ups | key facts in follow-up answers |",
                  "|---|---|---|---|"]
        for strategy, m in followup_baselines.items():
            lines.append(f"| {names.get(strategy, strategy)} | {fmt(m['recall@5_first_turn'])} | "
                         f"{fmt(m['recall@5_followup'])} | {fmt(m['key_fact_recall_followup'])} |")
        lines.append("")

    lines += ["## By question type", "",
              "| type | n | recall@1 | recall@5 | key_fact_recall | token_f1 | top_chunk_token_f1 | yes_no_accuracy | "
              "verdict_coverage | verdict_precision | wrong_verdict_rate | source_recall | abstention.f1 | false_abstention |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for t, m in metrics["by_type"].items():
        a = m["answer"]
        lines.append(f"| {t} | {m['n_questions']} | {fmt(m['retrieval']['recall@1'])} | {fmt(m['retrieval']['recall@5'])} | "
                     f"{fmt(a['key_fact_recall'])} | {fmt(a['token_f1'])} | {fmt(a['top_chunk_token_f1'])} | "
                     f"{fmt(a['yes_no_accuracy'])} | {fmt(a['verdict_coverage'])} | {fmt(a['verdict_precision'])} | "
                     f"{fmt(a['wrong_verdict_rate'])} | "
                     f"{fmt(m['citations']['source_recall'])} | {fmt(m['abstention']['f1'])} | "
                     f"{fmt(m['abstention']['false_abstention_rate'])} |")
    lines.append("")
    if plots:
        lines += ["## Plots", ""] + [f"![{p}]({p})" for p in plots] + [""]

    worst = [r for r in sorted(by_mode[primary], key=badness, reverse=True)[:20] if badness(r) > 0]
    lines += ["## The 20 worst questions", ""]
    for r in worst:
        verdict = ("abstained" if r.abstained else "answered")
        lines += [f"### {r.id} ({r.type or 'untyped'}, {'answerable' if r.answerable else 'unanswerable'}) – {verdict}",
                  f"- **Question:** {r.question}",
                  f"- **Gold articles:** {', '.join(r.gold_article_ids) or '(none)'}; gold rank: {first_gold_rank(r) or 'not in top 10'}",
                  f"- **Retrieved:** {', '.join(r.ranked_articles[:3])}",
                  f"- **Answer opens:** {r.answer_text.splitlines()[0][:300] if r.answer_text else ''}"]
        if r.key_facts:
            missing = [f for f in r.key_facts if f not in r.facts_found]
            lines.append(f"- **Key facts missing:** {', '.join(missing) or 'none'}")
        if r.decision:
            lines.append(f"- **Decision:** gold {r.decision}, answer {r.polarity or 'no verdict'}"
                         f" (verdict: {r.verdict or 'none'})")
        lines.append("")
    (out / "report.md").write_text("\n".join(lines))
    (out / "report.html").write_text(html_report(lines, out, plots, worst), encoding="utf-8")


def _md_to_html(lines: list[str]) -> str:
    """report.md up to its worst questions (written separately, with their answers) as HTML, by
    markdown-it with raw HTML off: markup in a gold question or an article id is shown as text."""
    from markdown_it import MarkdownIt

    cut = next((i for i, line in enumerate(lines) if line.startswith("## The 20 worst questions")), len(lines))
    kept = [line for line in lines[:cut] if not line.startswith(("## Plots", "!["))]
    return MarkdownIt("commonmark", {"html": False}).enable("table").render("\n".join(kept))


def _worst_html(r: Result) -> str:
    e = lambda t: html.escape(str(t), quote=True)  # noqa: E731
    facts = ""
    if r.key_facts:
        missing = [f for f in r.key_facts if f not in r.facts_found]
        facts = f"<li><b>Key facts missing:</b> {e(', '.join(missing) or 'none')}</li>"
    decision = (f"<li><b>Decision:</b> gold {e(r.decision)}, answer {e(r.polarity or 'no verdict')} "
                f"(verdict: {e(r.verdict or 'none')})</li>") if r.decision else ""
    cited = "".join(f"<blockquote><small>[{e(c['source'])}] {e(c['article_id'])}</small><br>{e(c['quote'])}</blockquote>"
                    for c in r.cited) or "<p><i>No passage cited.</i></p>"
    return (f"<section class='worst'><h3>{e(r.id)} ({e(r.type or 'untyped')}, "
            f"{'answerable' if r.answerable else 'unanswerable'}) – {'abstained' if r.abstained else 'answered'}</h3>"
            f"<ul><li><b>Question:</b> {e(r.question)}</li>"
            f"<li><b>Gold articles:</b> {e(', '.join(r.gold_article_ids) or '(none)')}; gold rank: "
            f"{e(first_gold_rank(r) or 'not in top 10')}</li>"
            f"<li><b>Retrieved:</b> {e(', '.join(r.ranked_articles[:3]))}</li>{facts}{decision}</ul>"
            f"<details open><summary>The answer</summary><pre>{e(r.answer_text)}</pre></details>"
            f"<details><summary>Cited passages ({len(r.cited)})</summary>{cited}</details></section>")


HTML_STYLE = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#1f2937}
table{border-collapse:collapse;margin:0.5em 0 1.5em}th,td{border:1px solid #d1d5db;padding:3px 8px;text-align:left}
th{background:#f3f4f6}pre{white-space:pre-wrap;background:#f9fafb;padding:8px;border:1px solid #e5e7eb}
blockquote{border-left:3px solid #f59e0b;margin:6px 0;padding:2px 10px;background:#fffbeb}
section.worst{border-top:1px solid #e5e7eb;margin-top:1em}img{max-width:100%;border:1px solid #e5e7eb}"""


def html_report(lines: list[str], out: Path, plots: list[str], worst: list[Result]) -> str:
    """One self-contained page: nothing to fetch, plots inline as base64 PNG, every text escaped."""
    images = "".join(f"<figure><img alt='{html.escape(p)}' src='data:image/png;base64,"
                     f"{base64.b64encode((out / p).read_bytes()).decode()}'></figure>" for p in plots)
    return ("<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Evaluation report</title>"
            f"<style>{HTML_STYLE}</style></head><body>{_md_to_html(lines)}"
            f"<h2>Plots</h2>{images}<h2>The 20 worst questions</h2>"
            f"<p>Ordered by how wrong they are (declined when answerable, gold article not found, key facts "
            f"missing, wrong yes/no); each with its whole answer and the passages it quotes.</p>"
            f"{''.join(_worst_html(r) for r in worst) or '<p>None.</p>'}</body></html>")


def load_metrics(path: Path) -> dict:
    path = Path(path)
    if path.is_dir():
        path = path / "metrics.json"
    if not path.is_file():
        raise FileNotFoundError(f"no metrics.json at {path}")
    return json.loads(path.read_text())


def compare(a: dict, b: dict) -> list[tuple[str, float | None, float | None, float | None]]:
    """(metric, A, B, B - A) for every metric in either run, by_type included."""
    fa, fb = flatten(a), flatten(b)
    rows = []
    for key in sorted(set(fa) | set(fb), key=lambda k: (k.startswith("by_type."), k)):
        va, vb = fa.get(key), fb.get(key)
        delta = round(vb - va, 4) if isinstance(va, (int, float)) and isinstance(vb, (int, float)) else None
        rows.append((key, va, vb, delta))
    return rows
