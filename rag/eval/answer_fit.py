"""Refit the offline answerer on public data and print its held-out figures.

    python -m rag.eval.answer_fit --squad ../shared/bench/squad-dev-v1.1.json.gz

Fitting uses only the first half of SQuAD v1.1 dev's articles (sorted by title): two draws of
its paragraphs with 150 and 350 removed, and one with whole articles as files; beside them, the
documentation questions of ``eval/pydocs-train.jsonl`` (pages other than the judged ones), weighted.
The selection model is a softmax over each question's
candidate sentences (L2-regularised, fitted on answerable questions); the abstention model is a
logistic regression on question-level features, fitted on out-of-fold selection scores (4 folds
by article) of answerable and unanswerable questions; the threshold lets ``ABSTAIN_ANSWERABLE`` of
the answerable ones abstain. The second half is then indexed with 150 paragraphs removed and
answered once, for the figures; nothing is chosen on it.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from ..answer.features import FEATURES, Candidates, extract
from ..answer.model import QUESTION_FEATURES, WEIGHTS, AnswerModel, Linear, question_features, quoted
from ..config import Settings, load_settings
from ..embed_cache import EmbedderWrapper
from ..embedding import Embedder, SentenceTransformerEmbedder
from ..index import Index, build_index
from .squad_answers import Case, Paragraph, answer_report, prepare, read_halves

if TYPE_CHECKING:
    import numpy as np

ABSTAIN_ANSWERABLE = 0.06  # share of answerable questions (out of fold, first half) the threshold lets abstain
SECOND_BELOW = 0.4  # a second sentence below this: the largest whose median reply stays under 30 words (first half)
PAIR_BELOW, PAIR_WORDS = 0.7, 35  # or below PAIR_BELOW when the two sentences together are this short
Rule = tuple[float, float, int]  # when a second sentence is quoted: (second_below, pair_below, pair_words)
FOLDS = 4
DRAWS = ((150, 0, False), (350, 1, False), (150, 2, True))  # paragraphs removed, seed, one file per article
PARAPHRASED = 0.5  # share of questions also asked without the words they copied from their paragraph
# Questions written for fitting on documentation pages other than the judged ones (eval/README.md): people
# paraphrase, API pages are not encyclopedia prose, and release notes read like news (names, dates,
# counts). Each counts as DOCS_WEIGHT SQuAD questions. "set=folder of its pages".
_EVAL = Path(__file__).resolve().parents[2] / "eval"
_HTML = "/usr/share/doc/python3.11/html"
DOCS_SETS = (f"{_EVAL / 'pydocs-train.jsonl'}={_HTML}/library", f"{_EVAL / 'whatsnew-train.jsonl'}={_HTML}/whatsnew")
DOCS_WEIGHT = 20.0
DOCS_PREFIX = "docs:"
# Question-level features for abstention. Word-overlap figures (coverage, rarest term found) are left out:
# SQuAD questions copy their paragraph's words, so a model that trusts overlap abstains on paraphrases and on
# questions naming what only a header states ("Who gave lectures at the 2024 course?"). With them, out of fold,
# unanswerable documentation questions abstained more (0.236 against 0.127), but so did answerable seed
# questions (21 of 67 in rag eval, and half of the chat's test questions).
ABSTENTION_FEATURES = tuple(name for name in QUESTION_FEATURES if name not in {
    "best_bm25", "best_rare_hit", "q_idf_found", "q_rare_found", "q_missing_max_idf", "n_q_terms"})


class StoredVectors(EmbedderWrapper):
    """An ``Embedder`` that keeps every vector it computed in a file, so refitting embeds each text once."""

    def __init__(self, inner: Embedder, path: Path) -> None:
        import pickle

        super().__init__(inner)
        self.path = path
        self.known: dict[str, np.ndarray] = pickle.loads(path.read_bytes()) if path.exists() else {}

    def embed(self, texts: Sequence[str], progress: bool = False) -> np.ndarray:
        import numpy as np

        missing = list(dict.fromkeys(text for text in texts if text not in self.known))
        if missing:
            self.known.update(zip(missing, self.inner.embed(missing, progress=progress)))
        return np.vstack([self.known[text] for text in texts]) if texts else self.inner.embed([])

    def save(self) -> None:
        import pickle

        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_bytes(pickle.dumps(self.known))


@dataclass
class Row:
    case: Case
    found: Candidates
    labels: np.ndarray  # per candidate: contains a gold answer
    logits: np.ndarray | None = None
    weight: float = 1.0  # a documentation question counts as DOCS_WEIGHT SQuAD questions


def collect(index: Index, cases: Sequence[Case], k: int = 5) -> list[Row]:
    """Retrieve and extract candidates for every case; texts are embedded in big batches first."""
    import numpy as np

    from ..answer.features import candidates

    retrieved = []
    with index.embedder.pinned([case.question.strip() for case in cases], progress=True):
        for case in cases:
            retrieved.append(index.search(case.question, k=k, rerank=False))
    items = [item for passages in retrieved for item in candidates(passages)]
    texts = [item.text for item in items] + [item.window for item in items] + [item.headed for item in items]
    rows = []
    with index.embedder.pinned([case.question.strip() for case in cases] + texts, progress=True):
        for case, passages in zip(cases, retrieved, strict=True):
            found = extract(case.question, passages, index.embed, index.idf)
            golds = [answer.lower() for answer in case.answers]
            labels = np.array([any(gold in item.text.lower() for gold in golds) for item in found.items], dtype=bool)
            rows.append(Row(case, found, labels))
    return rows


def fit_selection(rows: Sequence[Row], l2: float = 1.0) -> Linear:
    """Softmax over each question's candidates, maximising the weighted likelihood of its gold-holding sentences."""
    import numpy as np
    from scipy.optimize import minimize

    rows = [row for row in rows if row.case.answerable and row.labels.any()]
    weight = np.array([row.weight for row in rows])
    matrix = np.vstack([row.found.matrix for row in rows]).astype(np.float64)
    labels = np.concatenate([row.labels for row in rows]).astype(np.float64)
    segment = np.concatenate([np.full(len(row.labels), number) for number, row in enumerate(rows)])
    mean, scale = matrix.mean(0), matrix.std(0)
    scale[scale < 1e-9] = 1.0
    standard = (matrix - mean) / scale
    questions = len(rows)

    def loss(weights: np.ndarray) -> tuple[float, np.ndarray]:
        logits = standard @ weights
        top = np.full(questions, -np.inf)
        np.maximum.at(top, segment, logits)
        exponentials = np.exp(logits - top[segment])
        total = np.bincount(segment, exponentials, questions)
        positive = np.bincount(segment, exponentials * labels, questions)
        likelihood = weight @ (np.log(positive) - np.log(total))
        gradient = standard.T @ (weight[segment] * (exponentials * labels / positive[segment] - exponentials / total[segment]))
        penalty = 0.5 * l2 * weights @ weights
        return (penalty - likelihood) / questions, (l2 * weights - gradient) / questions

    result = minimize(loss, np.zeros(standard.shape[1]), jac=True, method="L-BFGS-B", options={"maxiter": 500})
    return Linear(FEATURES, tuple(mean), tuple(scale), tuple(result.x))


def fit_logistic(matrix: np.ndarray, target: np.ndarray, names: Sequence[str], l2: float = 1.0,
                 weight: np.ndarray | None = None) -> Linear:
    """L2-regularised logistic regression over standardised features, samples weighted by ``weight``."""
    import numpy as np
    from scipy.optimize import minimize

    weight = np.ones(len(target)) if weight is None else weight
    mean, scale = matrix.mean(0), matrix.std(0)
    scale[scale < 1e-9] = 1.0
    standard = np.column_stack([(matrix - mean) / scale, np.ones(len(matrix))])

    def loss(weights: np.ndarray) -> tuple[float, np.ndarray]:
        logits = standard @ weights
        probability = 1.0 / (1.0 + np.exp(-logits))
        penalty = weights.copy()
        penalty[-1] = 0.0
        value = weight @ (np.logaddexp(0, logits) - logits * target) + 0.5 * l2 * penalty @ penalty
        return value / len(target), (standard.T @ (weight * (probability - target)) + l2 * penalty) / len(target)

    result = minimize(loss, np.zeros(standard.shape[1]), jac=True, method="L-BFGS-B", options={"maxiter": 1000})
    return Linear(tuple(names), tuple(mean), tuple(scale), tuple(result.x[:-1]), float(result.x[-1]))


def _folds(rows: Sequence[Row]) -> list[int]:
    articles = sorted({row.case.article for row in rows})
    fold = {article: number % FOLDS for number, article in enumerate(articles)}
    return [fold[row.case.article] for row in rows]


def fit(rows: Sequence[Row]) -> tuple[AnswerModel, dict[str, float]]:
    """The model and its out-of-fold figures on the fitting data."""
    import numpy as np

    folds = _folds(rows)
    for fold in range(FOLDS):
        selection = fit_selection([row for row, f in zip(rows, folds) if f != fold])
        for row, f in zip(rows, folds):
            if f == fold:
                row.logits = selection(row.found.matrix.astype(np.float64))
    usable = [row for row in rows if len(row.labels)]
    values = [question_features(row.found, _logits(row), _softmax(_logits(row))) for row in usable]
    features = np.array([[value[name] for name in ABSTENTION_FEATURES] for value in values])
    holds = np.array([row.labels.any() for row in usable], dtype=np.float64)
    weight = np.array([row.weight for row in usable])
    abstention = fit_logistic(features, holds, ABSTENTION_FEATURES, weight=weight)
    probability = 1.0 / (1.0 + np.exp(-abstention(features)))
    # the threshold and figures on the questions as written; the paraphrased copies only train
    original = np.array([not row.case.id.endswith("~") for row in usable])
    usable = [row for row, keep in zip(usable, original) if keep]
    probability, weight = probability[original], weight[original]
    answerable = np.array([row.case.answerable for row in usable])
    threshold = _weighted_quantile(probability[answerable], weight[answerable], ABSTAIN_ANSWERABLE)
    model = AnswerModel(fit_selection(rows), abstention, threshold, SECOND_BELOW, PAIR_BELOW, PAIR_WORDS)
    docs = np.array([row.case.article.startswith(DOCS_PREFIX) for row in usable])
    figures = _figures([row for row, keep in zip(usable, ~docs) if keep], probability[~docs], threshold, "")
    if docs.any():
        figures.update(_figures([row for row, keep in zip(usable, docs) if keep], probability[docs], threshold,
                                "documentation: "))
    figures["threshold"] = threshold
    return model, figures


def _weighted_quantile(values: np.ndarray, weight: np.ndarray, share: float) -> float:
    """The value below which ``share`` of the total weight lies."""
    import numpy as np

    order = np.argsort(values)
    cumulative = np.cumsum(weight[order])
    return float(values[order][int(np.searchsorted(cumulative, share * cumulative[-1]))])


def _figures(rows: Sequence[Row], probability: np.ndarray, threshold: float, label: str) -> dict[str, float]:
    """Out-of-fold containment, reply length and abstention rates of ``rows``."""
    import numpy as np

    holds = np.array([row.labels.any() for row in rows])
    answerable = np.array([row.case.answerable for row in rows])
    answering = probability >= threshold
    never = (0.0, 0.0, 0)
    figures = {f"{label}oracle (gold sentence in the passages)": float(holds[answerable].mean()),
               f"{label}containment, one sentence, never abstaining": _containment(
                   rows, answerable, np.ones(len(rows), bool), never),
               f"{label}containment, one sentence": _containment(rows, answerable, answering, never)}
    rules = {f"second sentence below p={below}": (below, 0.0, 0) for below in (0.3, 0.4, 0.5)}
    rules[f"shipped: below p={SECOND_BELOW}, or p={PAIR_BELOW} within {PAIR_WORDS} words"] = (
        SECOND_BELOW, PAIR_BELOW, PAIR_WORDS)
    for name, rule in rules.items():
        figures[f"{label}containment, {name}"] = _containment(rows, answerable, answering, rule)
        figures[f"{label}median sentence words, {name}"] = _median_words(rows, answering, rule)
    figures[f"{label}answerable abstained"] = float((~answering[answerable]).mean())
    figures[f"{label}unanswerable abstained"] = float((~answering[~answerable]).mean()) if (~answerable).any() else 0.0
    return figures


def _chosen(row: Row, rule: Rule) -> list[int]:
    return quoted(row.found, _softmax(_logits(row)), *rule)


def _median_words(rows: Sequence[Row], answering: np.ndarray, rule: Rule) -> float:
    """Median words of the quoted sentences over the questions answered."""
    return float(statistics.median(sum(len(row.found.items[number].text.split()) for number in _chosen(row, rule))
                                   for row, answers in zip(rows, answering) if answers))


def _logits(row: Row) -> np.ndarray:
    assert row.logits is not None, "fit() scores every row out of fold first"
    return row.logits


def _softmax(logits: np.ndarray) -> np.ndarray:
    import numpy as np

    exponentials = np.exp(logits - logits.max())
    return exponentials / exponentials.sum()


def _containment(rows: Sequence[Row], answerable: np.ndarray, answering: np.ndarray, rule: Rule) -> float:
    """Share of answerable questions whose chosen sentences hold a gold answer (abstaining is wrong)."""
    right = []
    for row, can, answers in zip(rows, answerable, answering):
        if can:
            right.append(bool(answers and row.labels[_chosen(row, rule)].any()))
    return float(sum(right) / max(1, len(right)))


def save(model: AnswerModel, path: Path = WEIGHTS, docs_sets: Sequence[str] = ()) -> None:
    data = {"selection": model.selection.to_json(), "abstention": model.abstention.to_json(),
            "threshold": model.threshold, "second_below": model.second_below, "pair_below": model.pair_below,
            "pair_words": model.pair_words,
            "fitted_on": "SQuAD v1.1 dev, first 24 articles by title: a file per paragraph with 150 (seed 0) and "
                         "350 (seed 1) removed, a file per article with 150 removed (seed 2); and "
                         + (", ".join(f"eval/{Path(docs.partition('=')[0]).name}" for docs in docs_sets) or "no")
                         + " (pages of python3.11-doc, none of the judged ones), each question counted "
                         f"{DOCS_WEIGHT:g} times; refit with python -m rag.eval.answer_fit"}
    path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")


def paraphrased(cases: Sequence[Case], index: Index, seed: int) -> list[Case]:
    """Copies of some questions without the words they copied from their paragraph (the rarest one or two).

    SQuAD's writers reused the paragraph's words; people who ask about their own documents do not.
    Without such copies the model learns that low word overlap means no answer, and abstains on
    every paraphrase.
    """
    import random

    from ..answer.features import question_terms
    from ..store.lexical import tokenize

    rng = random.Random(seed)
    copies = []
    for case in cases:
        if rng.random() >= PARAPHRASED:
            continue
        in_context = set(tokenize(case.context))
        copied = [term for term in question_terms(case.question) if term in in_context]
        if not copied:
            continue
        rarity = index.idf(copied)
        dropped = set(sorted(copied, key=lambda term: -rarity[term])[: 1 + (rng.random() < 0.5)])
        words = [word for word in case.question.split() if not set(tokenize(word)) & dropped]
        if len(words) >= 3:
            copies.append(replace(case, id=f"{case.id}~", question=" ".join(words)))
    return copies


def first_half_rows(first: Sequence[Paragraph], work: Path, settings: Settings, embedder: StoredVectors) -> list[Row]:
    """Candidates of every question of the fitting draws: paragraphs as files (150 and 350 removed), and
    articles as files (150 removed), so the model sees short and long documents alike."""
    rows = []
    for removed, seed, whole_articles in DRAWS:
        index, cases = prepare(first, work / "first", removed, seed, settings, embedder, whole_articles)
        rows += collect(index, [*cases, *paraphrased(cases, index, seed)])
        embedder.save()
    return rows


def docs_rows(evalset: Path, root: Path, work: Path, settings: Settings, embedder: StoredVectors,
              weight: float = DOCS_WEIGHT) -> list[Row]:
    """Candidates of the questions of a documentation set written for fitting, over an index of its pages."""
    import shutil

    from .evalset import load_eval_set

    questions = [question for question in load_eval_set(evalset) if question.follows is None]
    folder = work / f"docs-{evalset.stem}"
    (folder / "docs").mkdir(parents=True, exist_ok=True)
    for page in sorted({evidence.source for question in questions for evidence in question.evidence}):
        if not (folder / "docs" / page).exists():
            shutil.copyfile(root / page, folder / "docs" / page)
    index = build_index(folder / "docs", folder / "index", settings=replace(settings, index_dir=str(folder / "index")),
                        embedder=embedder)
    cases = [Case(question.id, question.question, question.answers,
                  DOCS_PREFIX + (question.evidence[0].source if question.evidence else evalset.stem), question.answerable)
             for question in questions]
    rows = collect(index, cases)
    embedder.save()
    for row in rows:
        row.weight = weight
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rag.eval.answer_fit", description=__doc__.split("\n\n")[0])
    parser.add_argument("--squad", default="../shared/bench/squad-dev-v1.1.json.gz", help="SQuAD v1.1 dev JSON(.gz)")
    parser.add_argument("--work", default=".rag/answer-fit", help="folder for the corpora and indexes")
    parser.add_argument("--out", default=str(WEIGHTS), help="where to write the weights")
    parser.add_argument("--held-out", type=int, default=400, help="answerable questions sampled from the second half")
    parser.add_argument("--docs-set", nargs="*", default=list(DOCS_SETS), metavar="SET=FOLDER",
                        help="question sets written for fitting, each with the folder of its pages (python3.11-doc); "
                             "none when given without a value")
    parser.add_argument("--docs-weight", type=float, default=DOCS_WEIGHT, help="SQuAD questions each one counts as")
    args = parser.parse_args(argv)
    # torch's vectors: those the stored ones were made with (the ONNX backends agree to a cosine of 0.995)
    settings = replace(load_settings(), backend="torch")
    embedder = StoredVectors(SentenceTransformerEmbedder(), Path(args.work) / "vectors.pickle")
    first, second = read_halves(args.squad)
    rows = first_half_rows(first, Path(args.work), settings, embedder)
    for docs_set in args.docs_set:
        evalset, _, root = docs_set.partition("=")
        if not Path(root).is_dir():
            raise SystemExit(f"No {root}: install Debian's python3.11-doc, or pass --docs-set with no value.")
        rows += docs_rows(Path(evalset), Path(root), Path(args.work), settings, embedder, args.docs_weight)
    model, figures = fit(rows)
    save(model, Path(args.out), args.docs_set)
    print(f"Fitted on {len(rows)} questions of the first half; wrote {args.out}. Out of fold:")
    for name, value in figures.items():
        print(f"  {name:<48} {value:.3f}")
    if args.held_out:
        import os

        os.environ["RAG_ANSWER_WEIGHTS"] = str(Path(args.out).resolve())  # judge the weights just written
        index, cases = prepare(second, Path(args.work) / "second", 150, 0, settings, embedder)
        report = answer_report(index, cases, limit=args.held_out)
        print(f"Held-out half, 150 paragraphs removed, {report['answerable']} answerable and "
              f"{report['unanswerable']} unanswerable questions:")
        for name, value in report.items():
            print(f"  {name:<48} {value:.3f}" if isinstance(value, float) else f"  {name:<48} {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
