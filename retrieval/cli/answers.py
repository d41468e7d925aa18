"""The `search`, `ask` and `eval` subcommands: passages and answers for questions."""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from retrieval.cli.common import asked_day, common, date_args, emit, open_qa, positive_int
from retrieval.dates import asked_on, parse_day
from retrieval.errors import NewsQAError

if TYPE_CHECKING:
    from retrieval.answer.engine import Answer


def add_commands(sub: Any) -> None:
    sp = sub.add_parser("search", help="show the passages retrieved for a question")
    common(sp)
    sp.add_argument("question")
    sp.add_argument("-k", type=positive_int, help="number of passages (default NEWSQA_TOP_K, 5)")
    date_args(sp)
    sp.set_defaults(func=cmd_search)

    sp = sub.add_parser("ask", help="answer a question as the bot would")
    common(sp)
    sp.add_argument("question", nargs="?", help="the question (or --questions FILE)")
    sp.add_argument("--questions", type=Path,
                    help="JSONL of {id, question[, date, conversation]}: batch mode")  # fmt: skip
    sp.add_argument("--explain", action="store_true",
                    help="show how earlier turns were used, passages and scores")  # fmt: skip
    sp.add_argument("--after", action="append", default=[], metavar="QUESTION",
                    help="an earlier question of the same conversation, answered first "
                    "(repeatable, in order)")  # fmt: skip
    sp.add_argument(
        "--date", type=asked_day, help="answer as if asked on YYYY-MM-DD (default: now)"
    )
    date_args(sp)
    sp.set_defaults(func=cmd_ask)

    sp = sub.add_parser("eval", help="score answers against a benchmark's questions")
    common(sp)
    sp.add_argument("--questions", type=Path, required=True, action="append",
                    help="questions JSONL with answers and doc_id (repeatable)")  # fmt: skip
    sp.add_argument("--plot", type=Path, help="draw answered rate against hit rate to this PNG")
    sp.add_argument("--limit", type=positive_int, help="only the first N questions of each file")
    date_args(sp)
    sp.set_defaults(func=cmd_eval)


def answer_json(answer: Answer, qid: str | None = None) -> dict[str, Any]:
    """The batch-mode record of an answer."""
    return {
        "id": qid,
        "question": answer.question,
        "answer": None if answer.abstained else answer.text,
        # The words of the answer that answer the question (bold in the reply), if any.
        "span": answer.text[answer.span[0] : answer.span[1]]
        if answer.text and answer.span and not answer.abstained
        else None,
        "confidence": round(answer.confidence, 4),
        "date": answer.date,
        "sources": [
            {"doc_id": s.doc_id, "title": s.title, "date": s.date, "url": s.url}
            for s in answer.sources
        ],
        "passages": [
            {"doc_id": p.doc_id, "chunk_id": p.chunk_id, "score": round(p.score, 6)}
            for p in answer.passages
        ],
    }


def cmd_ask(args: argparse.Namespace, out: TextIO) -> int:
    from retrieval.answer.render import format_answer

    if (args.question is None) == (args.questions is None):
        print("error: give a question or --questions FILE (not both)", file=sys.stderr)
        return 2
    qa = open_qa(args)
    if args.questions is not None:
        return ask_batch(qa, args, out)
    asked = args.date or datetime.now(UTC)
    if args.after:
        return ask_in_conversation(qa, args, asked, out)
    started = time.perf_counter()
    answer = qa.answer(
        args.question, asked_at=asked, since=args.since, until=args.until, explain=args.explain
    )
    elapsed = (time.perf_counter() - started) * 1000
    if args.json:
        out.write(json.dumps(answer_json(answer), ensure_ascii=False) + "\n")
        return 0
    out.write(format_answer(answer) + "\n")
    if args.explain:
        out.write("\n--- context ---\nturn 1: question\nfirst turn: no context\n")
        out.write(explain(answer, elapsed))
    return 0


def turn_json(turn: Any, qid: str | None = None) -> dict[str, Any]:
    """The record of a conversation turn: the answer's record (``answer`` is None with a
    ``note`` for a request that has no answer), its question as asked, and ``context``."""
    row: dict[str, Any] = answer_json(turn.answer, qid) if turn.answer else {"id": qid}
    row.update(question=turn.question, context=turn.context_json())
    if turn.note is not None:
        row.update(answer=None, note=turn.note)
    return row


def ask_in_conversation(qa: Any, args: argparse.Namespace, asked: datetime, out: TextIO) -> int:
    """``ask --after Q1 --after Q2 Q3``: Q3 as the third turn of a conversation."""
    from retrieval.converse import format_turn, respond

    turns: list[Any] = []
    for earlier in args.after:
        turns.append(respond(qa, turns, earlier, asked_at=asked, since=args.since,
                             until=args.until))  # fmt: skip
    started = time.perf_counter()
    turn = respond(qa, turns, args.question, asked_at=asked, since=args.since, until=args.until,
                   explain=args.explain)  # fmt: skip
    elapsed = (time.perf_counter() - started) * 1000
    if args.json:
        out.write(json.dumps(turn_json(turn), ensure_ascii=False) + "\n")
        return 0
    out.write(format_turn(turn) + "\n")
    if args.explain:
        out.write("\n--- context ---\n" + turn.explain() + "\n")
        if turn.answer is not None:
            out.write(explain(turn.answer, elapsed))
    return 0


def ask_batch(qa: Any, args: argparse.Namespace, out: TextIO) -> int:
    """Answer every line of a questions file: one JSON line out per question line, an
    error object for a line that cannot be answered; 1 when any line failed. Lines that
    share a ``conversation`` value are one conversation, asked in file order: each sees
    the earlier questions and the answers given, and its JSON says how (``context``)."""
    from retrieval.answer.batch import BadLineError, parse_question, question_lines
    from retrieval.converse import Turn, respond

    failed = total = 0
    first_line: dict[str, int] = {}  # id -> the line it first appeared on
    conversations: dict[str, list[Turn]] = {}  # the turns of each conversation so far
    for n, line in question_lines(args.questions):
        total += 1
        qid = text = None
        try:
            q = parse_question(line, n)
            qid, text = q.id, q.question
            if qid in first_line:
                raise BadLineError(f"duplicate id {qid!r} (first on line {first_line[qid]})")
            first_line[qid] = n
            asked = asked_on(parse_day(q.date)) if q.date else args.date or datetime.now(UTC)
            if q.conversation is None:
                a = qa.answer(text, asked_at=asked, since=args.since, until=args.until)
                row = {"line": n, **answer_json(a, qid)}
            else:
                turns = conversations.setdefault(q.conversation, [])
                turn = respond(qa, turns, text, asked_at=asked, since=args.since,
                               until=args.until)  # fmt: skip
                turns.append(turn)
                del turns[: -qa.settings.conversation_turns]
                row = {"line": n, **turn_json(turn, qid), "conversation": q.conversation}
        except NewsQAError as exc:
            if isinstance(exc, BadLineError):
                qid, text = exc.qid or qid, exc.question or text
            if qid is not None:
                first_line.setdefault(qid, n)
            failed += 1
            row = {"line": n, "id": qid, "question": text, "answer": None, "error": str(exc)}
        out.write(json.dumps(row, ensure_ascii=False) + "\n")
        out.flush()
    if failed:
        print(f"error: {failed} of {total} lines of {args.questions} failed", file=sys.stderr)
    return 1 if failed else 0


def explain(answer: Answer, elapsed_ms: float) -> str:
    """The passages and the best-scored sentences behind ``answer``, from the trace the
    engine kept while answering: what was printed is what is explained, nothing is
    computed again."""
    from retrieval.answer.features import FEATURES

    t = answer.trace
    if t is None:
        return ""
    lines = [f"\n--- explain ({elapsed_ms:.0f} ms) ---", f"answer type: {t.info.wh}"]
    if t.info.period:
        p = t.info.period
        lines.append(f"period: {p.since} .. {p.until} (from {p.phrase!r})")
    lines.append("passages (fused rank, dense cosine, BM25):")
    for h in t.hits:
        lines.append(f"  {h.rank:2d}. {h.score:.4f} {h.dense:.3f} {h.lexical:6.2f}  "
                     f"{h.title[:60]} ({h.date or 'undated'}) [{h.doc_id}]")  # fmt: skip
    if t.candidates:
        x, s = t.features, t.scores
        # With the reader: the score the quote was chosen by, then the ranker's own.
        r = s if t.ranked is None else t.ranked
        kind = "ranker score" if t.ranked is None else "score with the reader, ranker's alone"
        lines.append(f"sentences ({kind}; confidence {answer.confidence:.3f}, "
                     f"threshold {t.threshold:.3f}):")  # fmt: skip
        cos, ov = FEATURES.index("s_cos"), FEATURES.index("overlap")
        for i in sorted(range(len(s)), key=lambda i: -r[i])[:8]:
            c = t.candidates[i]
            own = "" if t.ranked is None else f" {s[i]:.3f}"
            lines.append(f"  {r[i]:.3f}{own} cos {x[i, cos]:.2f} overlap {x[i, ov]:.2f} "
                         f"#{c.hit.rank}: {c.text[:110]}")  # fmt: skip
    if t.note:
        lines.append(t.note)
    return "\n".join(lines) + "\n"


def cmd_eval(args: argparse.Namespace, out: TextIO) -> int:
    from retrieval.answer.evaluate import (
        format_table,
        metrics,
        read_questions,
        run_questions,
        threshold_curve,
    )

    qa = open_qa(args)
    results: dict[str, dict[str, float]] = {}
    curves = {}
    for path in args.questions:
        questions = list(read_questions(path))[: args.limit]

        def ask(q: Any) -> Answer:
            asked = asked_on(parse_day(q.date)) if q.date else None
            return qa.answer(q.question, asked_at=asked, since=args.since, until=args.until)

        outcomes = run_questions(questions, ask, progress=not args.json)
        name = path.parent.name if path.stem.startswith("questions") else path.stem
        results[name] = metrics(outcomes)
        curves[name] = threshold_curve(outcomes)
    # The table is for people; the JSON line (alone with --json) for scripts.
    if not args.json:
        out.write(format_table(results) + "\n")
    out.write(json.dumps(results) + "\n")
    if args.plot:
        plot_curves(curves, args.plot, qa.threshold)
        out.write(f"wrote {args.plot}\n")
    return 0


def plot_curves(curves: dict[str, list[tuple[float, float, float]]], path: Path,
                threshold: float) -> None:  # fmt: skip
    """Answered rate against hit rate as the abstain threshold rises, one line per set."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise NewsQAError("--plot needs matplotlib: pip install matplotlib") from None
    fig, ax = plt.subplots(figsize=(6, 4.5))
    for name, rows in curves.items():
        ax.plot([r[1] for r in rows], [r[2] for r in rows], label=name)
        at = min(rows, key=lambda r: abs(r[0] - threshold), default=None)
        if at is not None:
            ax.scatter([at[1]], [at[2]], marker="o")
    ax.set_xlabel("answered rate")
    ax.set_ylabel("hit rate (all questions)")
    ax.set_title(f"Abstain threshold trade-off (dots: current {threshold:.2f})")
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    try:
        fig.savefig(path, dpi=100)
    except OSError as exc:
        raise NewsQAError(f"cannot write the plot {path}: {exc.strerror or exc}") from None
    finally:
        plt.close(fig)


def cmd_search(args: argparse.Namespace, out: TextIO) -> int:
    qa = open_qa(args)
    started = time.perf_counter()
    hits = qa.search(args.question, args.k, since=args.since, until=args.until)
    elapsed = (time.perf_counter() - started) * 1000
    if args.json:
        for h in hits:
            emit(out, {
                "rank": h.rank, "doc_id": h.doc_id, "chunk_id": h.chunk_id,
                "score": round(h.score, 6), "dense": round(h.dense, 4),
                "lexical": round(h.lexical, 4), "title": h.title, "date": h.date,
                "url": h.url, "text": h.text,
            })  # fmt: skip
        return 0
    if not hits:
        out.write("no passages found\n")
    for h in hits:
        out.write(
            f"{h.rank}. [{h.score:.4f} dense {h.dense:.3f} bm25 {h.lexical:.2f}] "
            f"{h.title} ({h.date or 'undated'})\n   {h.url or h.doc_id}\n"
        )
        out.write("   " + h.text.replace("\n", " ")[:600] + "\n")
    out.write(f"({len(hits)} passages in {elapsed:.0f} ms)\n")
    return 0
