"""The category classifier: words (rjieba with the templates' vocabulary added) and character
1-2-grams, TF-IDF, a linear model with sigmoid-calibrated probabilities, averaged on sets up to
`LARGE` with a calibrated complement naive Bayes. One instance per template, pickled to a file by
the services.

No Django here, so `tousu triage evaluate` and the benchmark run it on plain lists.

Choices, measured by 5-fold cross-validation on the shipped samples (see `tousu triage evaluate`):
character 1-2-grams beat 2-4-grams (0.90 vs 0.85 macro-F1 on property): single characters such
as 漏, 吵, 偷 carry the topic, and the samples' typos break longer n-grams. Word unigrams add
≈ 0.01 on top. LinearSVC and SGD (hinge) score the same within noise; LinearSVC is exact but its time grows
faster than linearly, so above `LARGE` examples the SGD solver keeps a 100,000-case retraining
well under a minute on two cores (bench/triage.py).

Issue 19 (texts written by others, tests/triage/heldout/): the templates' own vocabulary as whole
words on sets up to `LARGE` (+0.003 CV macro-F1 on hospital) and the naive Bayes second opinion
(+0.007 hospital CV, +0.007 / +0.005 on the held-out sets) were kept; character 1-3-grams, word
bigrams and a logistic regression member were tried and did not help. Balanced class weights
stay: the categories have 70-130 samples each, the organisation's cases far from even counts.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import SGDClassifier
from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support
from sklearn.model_selection import StratifiedKFold
from sklearn.naive_bayes import ComplementNB
from sklearn.svm import LinearSVC

from .text import domain_words, for_model, words

LARGE = 20_000
CALIBRATION_FOLDS = 3
MIN_PER_CLASS = CALIBRATION_FOLDS  # calibration needs each class in every fold
SEED = 0
THRESHOLDS = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95)


class TooLittleData(ValueError):
    """Fewer than two categories with enough examples to learn from."""


def _vectorizers(n: int) -> tuple[TfidfVectorizer, TfidfVectorizer]:
    # On large sets a word or bigram seen once is noise and only grows the model file.
    min_df = 1 if n <= LARGE else 2
    word = TfidfVectorizer(
        # The templates' vocabulary helps where the samples are few; above LARGE the
        # organisation's own cases bring their words, and the general segmenter keeps a
        # 100,000-case retraining as fast as before (the domain one cost ~10 %).
        tokenizer=domain_words if n <= LARGE else words,
        token_pattern=None,
        lowercase=False,
        sublinear_tf=True,
        min_df=min_df,
        dtype=np.float32,
    )
    char = TfidfVectorizer(
        analyzer="char",
        ngram_range=(1, 2),
        lowercase=False,
        sublinear_tf=True,
        min_df=min_df,
        dtype=np.float32,
    )
    return word, char


def _estimator(n: int) -> tuple[CalibratedClassifierCV, str]:
    folds = StratifiedKFold(CALIBRATION_FOLDS, shuffle=True, random_state=SEED)
    if n <= LARGE:
        base = LinearSVC(C=0.5, class_weight="balanced", random_state=SEED)
        return CalibratedClassifierCV(base, method="sigmoid", cv=folds), "LinearSVC + sigmoid"
    # Large sets: isotonic calibration is a sort, where sigmoid fitting (L-BFGS per class and
    # fold) took a third of a 100,000-case retraining; with thousands of examples per class
    # isotonic no longer overfits.
    base = SGDClassifier(
        loss="hinge", alpha=2e-5, class_weight="balanced", random_state=SEED, tol=1e-3
    )
    return CalibratedClassifierCV(base, method="isotonic", cv=folds), "SGD (hinge) + isotonic"


class ComplementNBScores(ComplementNB):
    """ComplementNB whose decision function is the normalised log-likelihood: calibrating on it
    converges in a few steps, where its probabilities (all near 0 or 1) kept the sigmoid fits
    iterating for seconds."""

    def decision_function(self, X):
        jll = self._joint_log_likelihood(self._check_X(X))
        jll = jll - jll.max(axis=1, keepdims=True)
        log_proba = jll - np.log(np.exp(jll).sum(axis=1, keepdims=True))
        if log_proba.shape[1] == 2:
            return log_proba[:, 1] - log_proba[:, 0]
        return log_proba


def _second_opinion(n: int) -> CalibratedClassifierCV | None:
    """Complement naive Bayes on the same features, averaged with the linear model on sets up to
    `LARGE`: it weighs the many weak words of a long, unusual text where the margin-based model
    leans on a few strong ones (5-fold CV +0.01 macro-F1 on hospital, even on property; on the
    held-out sets +0.005). Above `LARGE` the organisation's own cases carry the weight and the
    retraining time budget goes to the linear model."""
    if n > LARGE:
        return None
    folds = StratifiedKFold(CALIBRATION_FOLDS, shuffle=True, random_state=SEED)
    return CalibratedClassifierCV(ComplementNBScores(alpha=0.3), method="sigmoid", cv=folds)


def usable(labels: list[str]) -> tuple[set[str], dict[str, int]]:
    """The labels with enough examples, and the ones left out with their counts."""
    counts = Counter(labels)
    keep = {label for label, n in counts.items() if n >= MIN_PER_CLASS}
    return keep, {label: n for label, n in counts.items() if label not in keep}


@dataclass
class TextClassifier:
    classes: list[str]
    word: TfidfVectorizer
    char: TfidfVectorizer
    model: CalibratedClassifierCV
    algorithm: str
    second: CalibratedClassifierCV | None = None
    _names: np.ndarray | None = field(default=None, repr=False, compare=False)
    _parts: list | None = field(default=None, repr=False, compare=False)

    @classmethod
    def fit(
        cls, texts: list[str], labels: list[str], weights: list[float] | None = None
    ) -> TextClassifier:
        keep, _ = usable(labels)
        if len(keep) < 2:
            raise TooLittleData(
                f"至少需要两个类别、每类至少 {MIN_PER_CLASS} 条样本才能训练（现有 {len(keep)} 个类别）"
            )
        rows = [i for i, label in enumerate(labels) if label in keep]
        prepared = [for_model(texts[i]) for i in rows]
        y = np.array([labels[i] for i in rows])
        w = None if weights is None else np.array([weights[i] for i in rows], dtype=np.float64)
        word, char = _vectorizers(len(rows))
        x = sparse.hstack([word.fit_transform(prepared), char.fit_transform(prepared)]).tocsr()
        model, algorithm = _estimator(len(rows))
        model.fit(x, y, sample_weight=w)
        second = _second_opinion(len(rows))
        if second is not None:
            second.fit(x, y, sample_weight=w)
            algorithm += "，ComplementNB + sigmoid 平均"
        return cls([str(c) for c in model.classes_], word, char, model, algorithm, second)

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_names"] = state["_parts"] = None  # rebuilt on demand, not stored in the file
        return state

    def _models(self) -> list:
        second = getattr(self, "second", None)  # files trained before the ensemble have none
        return [self.model] if second is None else [self.model, second]

    def _calibration(self) -> list | None:
        """Per model, per calibration fold: (kind, weights, offset, class columns, calibrators),
        read once from the fitted models, or None when one is not a shape `proba` knows (then
        scikit-learn runs)."""
        if self._parts is None:
            index = {c: i for i, c in enumerate(self.classes)}
            models = []
            for model in self._models():
                parts = []
                for cc in model.calibrated_classifiers_:
                    est = cc.estimator
                    columns = [index[str(c)] for c in est.classes_]
                    if len(self.classes) == 2:
                        columns = [1]  # one response value, for the second class
                    cals = []
                    for cal in cc.calibrators:
                        if hasattr(cal, "a_"):
                            cals.append(("sigmoid", float(cal.a_), float(cal.b_)))
                        elif hasattr(cal, "X_thresholds_"):
                            cals.append(("isotonic", cal.X_thresholds_, cal.y_thresholds_))
                        else:
                            self._parts = []
                            return None
                    if hasattr(est, "coef_"):
                        parts.append(
                            (
                                "linear",
                                np.asarray(est.coef_).T,
                                np.asarray(est.intercept_),
                                columns,
                                cals,
                            )
                        )
                    elif hasattr(est, "feature_log_prob_"):
                        prior = est.class_log_prior_ if len(est.classes_) == 1 else 0.0
                        parts.append(
                            ("nb", np.asarray(est.feature_log_prob_).T, prior, columns, cals)
                        )
                    else:
                        self._parts = []
                        return None
                models.append(parts)
            # One matrix for every part's weights: one sparse product per suggestion instead of
            # one per part (each costs scipy's dispatch, ≈ 0.7 ms, more than the arithmetic).
            blocks = [weights for parts in models for _, weights, *_ in parts]
            stacked = np.ascontiguousarray(np.hstack(blocks))  # their dtype, as scikit-learn
            start, sliced = 0, []
            for parts in models:
                mine = []
                for kind, weights, offset, columns, cals in parts:
                    end = start + weights.shape[1]
                    mine.append((kind, slice(start, end), offset, columns, cals))
                    start = end
                sliced.append(mine)
            self._parts = [stacked, sliced]
        return self._parts or None

    @staticmethod
    def _response(kind: str, scores, offset) -> np.ndarray:
        if kind == "linear":
            return scores + offset  # the decision function
        jll = scores + offset  # ComplementNBScores.decision_function
        jll -= jll.max(axis=1, keepdims=True)
        log_proba = jll - np.log(np.exp(jll).sum(axis=1, keepdims=True))
        if log_proba.shape[1] == 2:
            return (log_proba[:, 1] - log_proba[:, 0])[:, None]
        return log_proba

    def _proba(self, x) -> np.ndarray:
        """CalibratedClassifierCV.predict_proba of each model, computed directly and averaged:
        the same numbers without its per-call input checks, which cost 6 ms of a 7 ms
        suggestion."""
        calibration = self._calibration()
        if calibration is None:
            return np.mean([m.predict_proba(x) for m in self._models()], axis=0)
        stacked, models = calibration
        scores = np.asarray(x @ stacked)
        n, k = x.shape[0], len(self.classes)
        out = np.zeros((n, k))
        for parts in models:
            total = np.zeros((n, k))
            for kind, block, offset, columns, cals in parts:
                response = self._response(kind, scores[:, block], offset)
                proba = np.zeros((n, k))
                for j, (column, cal) in enumerate(zip(columns, cals, strict=True)):
                    d = response[:, j]
                    if cal[0] == "sigmoid":
                        proba[:, column] = 1.0 / (1.0 + np.exp(cal[1] * d + cal[2]))
                    else:
                        proba[:, column] = np.interp(d, cal[1], cal[2])
                if k == 2:
                    proba[:, 0] = 1.0 - proba[:, 1]
                else:
                    denominator = proba.sum(axis=1, keepdims=True)
                    proba = np.divide(
                        proba, denominator, out=np.full_like(proba, 1 / k), where=denominator != 0
                    )
                total += proba
            out += total / len(parts)
        return out / len(models)

    def _features(self, texts: list[str]):
        prepared = [for_model(t) for t in texts]
        return sparse.hstack([self.word.transform(prepared), self.char.transform(prepared)]).tocsr()

    def proba(self, texts: list[str]) -> np.ndarray:
        """Probabilities, one row per text, columns in `classes` order."""
        return self._proba(self._features(texts))

    def rank(self, text: str) -> list[tuple[str, float]]:
        """All categories for one text, most likely first."""
        p = self.proba([text])[0]
        order = np.argsort(-p)
        return [(self.classes[i], float(p[i])) for i in order]

    def predict(self, texts: list[str]) -> tuple[list[str], np.ndarray]:
        p = self.proba(texts)
        best = p.argmax(axis=1)
        return [self.classes[i] for i in best], p[np.arange(len(texts)), best]

    @property
    def word_names(self) -> np.ndarray:
        if self._names is None:
            self._names = self.word.get_feature_names_out()
        return self._names

    def terms(self, text: str, label: str, k: int = 3) -> list[str]:
        """The words and character pairs of `text` that pushed it most towards `label`.

        A linear model's score is a sum of weight × feature value, so each present feature's share
        is exact; weights are averaged over the calibration folds' models."""
        if label not in self.classes:
            return []
        # Words only: a character pair such as 了三 is a good feature but no explanation.
        x = self.word.transform([for_model(text)]).tocsr()
        cols, values = x.indices, x.data
        if not len(cols):
            return []
        index = self.classes.index(label)
        contribution = np.zeros(len(cols))
        for calibrated in self.model.calibrated_classifiers_:
            coef = calibrated.estimator.coef_
            if coef.shape[0] == 1:  # binary: one row for the second class
                row = coef[0, cols] if index == 1 else -coef[0, cols]
            else:
                row = coef[index, cols]
            contribution += np.asarray(row).ravel() * values
        names = self.word_names[cols]
        picked: list[str] = []
        for i in np.argsort(-contribution):
            name = str(names[i]).strip()
            if contribution[i] <= 0 or len(picked) >= k:
                break
            # A single character or a number explains nothing to a person.
            if len(name) < 2 or name.isdigit():
                continue
            picked.append(name)
        return picked


# --- measurement ---------------------------------------------------------------------------------


@dataclass
class ClassScore:
    label: str
    precision: float
    recall: float
    f1: float
    support: int


@dataclass
class Evaluation:
    n: int
    accuracy: float
    macro_f1: float
    classes: list[ClassScore]
    threshold: float | None = None
    coverage: float | None = None  # share of texts with confidence ≥ threshold
    confident_accuracy: float | None = None  # accuracy on those
    folds: int | None = None
    left_out: dict[str, int] = field(default_factory=dict)
    truth: list[str] = field(default_factory=list, repr=False)
    predicted: list[str] = field(default_factory=list, repr=False)
    confidences: list[float] = field(default_factory=list, repr=False)

    def confusions(self, k: int = 10) -> list[tuple[str, str, int]]:
        """The most frequent (true, predicted) pairs that differ, most frequent first."""
        pairs = Counter((t, p) for t, p in zip(self.truth, self.predicted, strict=True) if t != p)
        return [(t, p, n) for (t, p), n in sorted(pairs.items(), key=lambda x: (-x[1], x[0]))[:k]]

    def department_accuracy(self, departments: dict[str, str]) -> float | None:
        """Share of texts whose predicted category implies the right department."""
        if not departments or not self.truth:
            return None
        right = sum(
            1
            for t, p in zip(self.truth, self.predicted, strict=True)
            if departments.get(t) and departments.get(t) == departments.get(p)
        )
        return right / len(self.truth)

    def tradeoff(
        self, thresholds=THRESHOLDS, departments: dict[str, str] | None = None
    ) -> list[tuple[float, float, float | None, float | None]]:
        """Per threshold: (threshold, coverage, accuracy on the covered texts, department
        accuracy on them): what automatic routing at that threshold would route, and how well."""
        if not self.confidences:
            return []
        conf = np.array(self.confidences)
        right = np.array(self.truth) == np.array(self.predicted)
        deps = departments or {}
        dep_right = np.array(
            [
                bool(deps.get(t)) and deps.get(t) == deps.get(p)
                for t, p in zip(self.truth, self.predicted, strict=True)
            ]
        )
        out = []
        for th in thresholds:
            sure = conf >= th
            acc = float(right[sure].mean()) if sure.any() else None
            dep = float(dep_right[sure].mean()) if sure.any() and deps else None
            out.append((th, float(sure.mean()), acc, dep))
        return out


def score(
    labels: list[str],
    predicted: list[str],
    confidence: np.ndarray | None = None,
    threshold: float | None = None,
) -> Evaluation:
    names = sorted(set(labels))
    p, r, f, s = precision_recall_fscore_support(labels, predicted, labels=names, zero_division=0)
    ev = Evaluation(
        n=len(labels),
        accuracy=float(accuracy_score(labels, predicted)),
        macro_f1=float(f1_score(labels, predicted, labels=names, average="macro", zero_division=0)),
        classes=[
            ClassScore(n, float(p[i]), float(r[i]), float(f[i]), int(s[i]))
            for i, n in enumerate(names)
        ],
        truth=list(labels),
        predicted=list(predicted),
        confidences=[] if confidence is None else [float(c) for c in confidence],
    )
    if confidence is not None and threshold is not None and len(labels):
        sure = confidence >= threshold
        ev.threshold = threshold
        ev.coverage = float(sure.mean())
        right = np.array(labels) == np.array(predicted)
        ev.confident_accuracy = float(right[sure].mean()) if sure.any() else None
    return ev


def cross_validate(
    texts: list[str],
    labels: list[str],
    weights: list[float] | None = None,
    *,
    folds: int = 5,
    threshold: float | None = None,
) -> Evaluation:
    """Stratified k-fold: every text is predicted by a model that never saw it."""
    keep, left_out = usable(labels)
    if folds > min((labels.count(k) for k in keep), default=0):
        keep = {k for k in keep if labels.count(k) >= folds}
        left_out = {k: labels.count(k) for k in set(labels) - keep}
    rows = [i for i, label in enumerate(labels) if label in keep]
    if len(keep) < 2:
        raise TooLittleData(f"至少需要两个类别、每类至少 {folds} 条样本才能做 {folds} 折交叉验证")
    x = [texts[i] for i in rows]
    y = [labels[i] for i in rows]
    w = None if weights is None else [weights[i] for i in rows]
    predicted: list[str] = [""] * len(x)
    confidence = np.zeros(len(x))
    splitter = StratifiedKFold(folds, shuffle=True, random_state=SEED)
    for train, test in splitter.split(x, y):
        clf = TextClassifier.fit(
            [x[i] for i in train],
            [y[i] for i in train],
            None if w is None else [w[i] for i in train],
        )
        guess, sure = clf.predict([x[i] for i in test])
        for j, i in enumerate(test):
            predicted[i], confidence[i] = guess[j], sure[j]
    ev = score(y, predicted, confidence, threshold)
    ev.folds, ev.left_out = folds, left_out
    return ev
