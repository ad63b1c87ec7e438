"""The `rag` command: a thin shell over rag.pipeline. Heavy imports (torch, FAISS, Gradio) happen inside
the commands so that `rag --help` answers at once."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Optional

import typer
import typer.core

from rag.cli_common import err, out
from rag.cli_common import fail as _fail
from rag.cli_index import index_app, run_build
from rag.config import load_settings

app = typer.Typer(help="Cited answers to clinical questions from a library of articles, offline.",
                  no_args_is_help=True, add_completion=False)
app.add_typer(index_app, name="index")


class _EvalGroup(typer.core.TyperGroup):
    """`rag eval GOLD.jsonl ...` runs an evaluation; `rag eval validate|compare ...` are subcommands."""

    def parse_args(self, ctx, args):
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["run", *args]
        return super().parse_args(ctx, args)


eval_app = typer.Typer(cls=_EvalGroup, no_args_is_help=True,
                       help="Evaluate against gold answers: rag eval GOLD.jsonl --index DIR; also validate, compare.")
app.add_typer(eval_app, name="eval")


@app.command()
def ask(
    question: str = typer.Argument(..., help="The clinical question, in quotes."),
    index: Optional[Path] = typer.Option(None, help="Index folder. Default: index/"),
    audience: str = typer.Option("clinician", help="clinician or patient: the wording of the answer."),
    retriever: str = typer.Option("hybrid", help="hybrid, dense or bm25."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of text."),
    config: Optional[Path] = typer.Option(None, help="A rag.toml settings file."),
) -> None:
    """Answer QUESTION from the index, with numbered citations and sources."""
    from rag.answer import AUDIENCES
    from rag.pipeline import Pipeline, QuestionError, clean_question
    from rag.retrieval import MODES
    from rag.store import IndexProblem

    settings = load_settings(config).with_overrides(index_dir=index)
    if audience not in AUDIENCES:
        _fail(f"--audience must be one of: {', '.join(AUDIENCES)}", 2)
    if retriever not in MODES:
        _fail(f"--retriever must be one of: {', '.join(MODES)}", 2)
    try:
        clean_question(question, settings.max_question_tokens, settings.max_question_bytes)  # before loading the model
    except QuestionError as exc:
        _fail(str(exc), 2)
    try:
        pipeline = Pipeline.open(settings)
        answer = pipeline.ask(question, audience=audience, mode=retriever)
    except IndexProblem as exc:
        _fail(str(exc))
    if pipeline.store.fallback:
        err.print(f"[yellow]warning:[/] {pipeline.store.fallback}", highlight=False)
    for notice in answer.notices:
        err.print(f"[yellow]notice:[/] {notice}", highlight=False)
    if as_json:
        sys.stdout.write(json.dumps(answer.to_json(), ensure_ascii=False) + "\n")
    else:
        sys.stdout.write(answer.text + "\n")


@app.command()
def serve(
    index: Optional[Path] = typer.Option(None, help="Index folder. Default: index/"),
    corpus: Optional[Path] = typer.Option(None, help="Corpus to build from when there is no index yet."),
    host: Optional[str] = typer.Option(None, help="Address to bind. Default 127.0.0.1 (this machine only), or RAG_HOST."),
    port: Optional[int] = typer.Option(None, help="Port. Default 7860, or RAG_PORT."),
    build_if_missing: bool = typer.Option(True, help="Build the index from the corpus first if there is none."),
    config: Optional[Path] = typer.Option(None, help="A rag.toml settings file."),
) -> None:
    """Start the chat web app (Gradio) on http://HOST:PORT."""
    from rag.pipeline import Pipeline, index_exists
    from rag.store import IndexProblem

    settings = load_settings(config).with_overrides(index_dir=index, corpus_dir=corpus, host=host, port=port)
    from ui.app import PortInUse, check_port, exposure_warning, launch

    warning = exposure_warning(settings.host)
    if warning:
        err.rule("[bold red]WARNING", style="red")
        err.print(f"[bold red]{warning}[/]", highlight=False)
        err.rule(style="red")
    try:
        check_port(settings.host, settings.port)  # before minutes of building or loading
    except PortInUse as exc:
        _fail(str(exc))
    if not index_exists(settings.index_dir):
        if not build_if_missing:
            _fail(f"no index in {settings.index_dir}; run: rag index build --index {settings.index_dir}")
        err.print(f"No index in {settings.index_dir} yet: building it from {settings.corpus_dir} (first run only).")
        run_build(settings)
    started = time.perf_counter()
    try:
        pipeline = Pipeline.open(settings)
    except IndexProblem as exc:
        _fail(str(exc))
    if pipeline.store.fallback:
        err.print(f"[yellow]warning:[/] {pipeline.store.fallback}", highlight=False)
    err.print(f"Index loaded in {time.perf_counter() - started:.1f} s: {pipeline.info()}", highlight=False)
    try:
        err.print(f"Chat on http://{settings.host}:{settings.port}/ and its JSON API under /api (description: "
                  f"/api/openapi.json); Ctrl+C stops it", highlight=False)
        launch(pipeline, host=settings.host, port=settings.port, concurrency=settings.concurrency,
               queue_size=settings.queue_size, settings=settings)
    except PortInUse as exc:
        _fail(str(exc))


@eval_app.command("run")
def eval_run(
    gold: Path = typer.Argument(..., help="Gold questions, one JSON object a line (see README)."),
    index: Optional[Path] = typer.Option(None, help="Index folder. Default: index/"),
    conversations: Optional[Path] = typer.Option(None, help="Conversations (JSONL) to score follow-ups."),
    out_dir: Optional[Path] = typer.Option(None, "--out", help="Report folder. Default: eval/reports/<timestamp>/"),
    retriever: str = typer.Option("hybrid", help="Headline retriever: hybrid, dense or bm25. All three are reported."),
    config: Optional[Path] = typer.Option(None, help="A rag.toml settings file."),
) -> None:
    """Run every gold question through the chat's own pipeline and write metrics, a report and plots."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from rag.evaluate import FOLLOWUP_STRATEGIES, followup_metrics, metrics, run_conversations, run_gold
    from rag.gold import GoldError, load_conversations, load_gold
    from rag.pipeline import Pipeline
    from rag.report import write_report
    from rag.retrieval import MODES
    from rag.store import IndexProblem

    if retriever not in MODES:
        _fail(f"--retriever must be one of: {', '.join(MODES)}", 2)
    settings = load_settings(config).with_overrides(index_dir=index)
    try:
        questions = load_gold(gold)
        convs = load_conversations(conversations) if conversations else []
    except GoldError as exc:
        _fail(str(exc))
    try:
        pipeline = Pipeline.open(settings)
    except IndexProblem as exc:
        _fail(str(exc))
    known = set(pipeline.store.titles)
    unknown = sorted({a for q in questions for a in q.gold_article_ids if a not in known}
                     | {a for c in convs for t in c.turns for a in t.gold_article_ids if a not in known})
    for a in unknown:
        err.print(f"[yellow]warning:[/] gold article id not in the index: {a}", highlight=False)
    out_dir = out_dir or Path("eval") / "reports" / time.strftime("%Y%m%d-%H%M%S")
    modes = [retriever] + [m for m in MODES if m != retriever]
    started = time.perf_counter()
    by_mode, turns = {}, []
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err) as bar:
        for mode in modes:
            task = bar.add_task(f"{mode} questions", total=len(questions))
            by_mode[mode] = run_gold(pipeline, questions, mode, progress=lambda t=task: bar.advance(t))
        baselines = {}
        for strategy in FOLLOWUP_STRATEGIES if convs else ():
            task = bar.add_task(f"conversation turns ({strategy})", total=sum(len(c.turns) for c in convs))
            result = run_conversations(pipeline, convs, retriever, progress=lambda t=task: bar.advance(t),
                                       strategy=strategy)
            baselines[strategy] = followup_metrics(result)
            if strategy == "rewrite":
                turns = result
    by_mode_metrics = {m: metrics(rs, turns if m == retriever else None) for m, rs in by_mode.items()}
    headline = by_mode_metrics[retriever]
    write_report(out_dir, gold_path=str(gold), index_info=pipeline.info(), primary=retriever, metrics=headline,
                 by_mode_metrics=by_mode_metrics, by_mode=by_mode, turns=turns, unknown_articles=unknown,
                 seconds=time.perf_counter() - started, followup_baselines=baselines)
    r, a, c, ab = headline["retrieval"], headline["answer"], headline["citations"], headline["abstention"]
    from rag.report import fmt

    out.print(
        f"{headline['n_questions']} questions ({retriever}): recall@1 {fmt(r['recall@1'])}, recall@5 {fmt(r['recall@5'])}, "
        f"mrr@10 {fmt(r['mrr@10'])}; key facts {fmt(a['key_fact_recall'])}, token f1 {fmt(a['token_f1'])} "
        f"(top chunk {fmt(a['top_chunk_token_f1'])}), yes/no {fmt(a['yes_no_accuracy'])} "
        f"(verdict coverage {fmt(a['verdict_coverage'])}, wrong {fmt(a['wrong_verdict_rate'])}); "
        f"citation precision {fmt(c['precision'])}; abstention f1 {fmt(ab['f1'])}; "
        f"p50 {fmt(headline['latency_ms']['p50'])} ms",
        highlight=False, soft_wrap=True)
    out.print(f"Report: {out_dir / 'report.md'} and {out_dir / 'report.html'} (one file, for a browser)", highlight=False,
              soft_wrap=True)


@eval_app.command("compare")
def eval_compare(
    a: Path = typer.Argument(..., help="The earlier report folder (or its metrics.json)."),
    b: Path = typer.Argument(..., help="The later report folder (or its metrics.json)."),
    all_types: bool = typer.Option(False, "--by-type", help="Include the per-type breakdown."),
) -> None:
    """Print every metric of two reports side by side with the change from A to B."""
    from rag.report import compare, fmt, load_metrics

    try:
        rows = compare(load_metrics(a), load_metrics(b))
    except (FileNotFoundError, ValueError) as exc:
        _fail(str(exc))
    out.print(f"{'metric':45} {'A':>9} {'B':>9} {'B-A':>9}", highlight=False)
    for key, va, vb, delta in rows:
        if key.startswith("by_type.") and not all_types:
            continue
        sign = "" if delta is None else ("+" if delta > 0 else "")
        out.print(f"{key:45} {fmt(va):>9} {fmt(vb):>9} {sign + fmt(delta) if delta is not None else '–':>9}",
                  highlight=False, markup=False)


@eval_app.command("validate")
def eval_validate(
    gold: Path = typer.Argument(..., help="Gold questions, one JSON object a line."),
    corpus: Path = typer.Option(Path("corpus"), help="The corpus the gold articles ids refer to."),
    conversations: Optional[Path] = typer.Option(None, help="Conversations file (JSONL) to check as well."),
    strict: bool = typer.Option(False, help="Also require every optional field, 2-5 key facts, references in every article."),
) -> None:
    """Check a gold file: schema, that every gold article exists, that every key fact is in a gold article."""
    from rag.gold import GoldError, validate

    if not corpus.is_dir():
        _fail(f"corpus folder not found: {corpus}")
    try:
        report = validate(corpus, gold, conversations, strict=strict)
    except GoldError as exc:
        _fail(str(exc))
    for problem in report.problems:
        out.print(problem, highlight=False, markup=False, soft_wrap=True)
    out.print(json.dumps(report.counts), highlight=False, markup=False, soft_wrap=True)
    if not report.ok:
        _fail(f"{len(report.problems)} problems found")
    out.print("gold file OK", highlight=False)


if __name__ == "__main__":  # pragma: no cover
    app()
