"""The model: logistic regression trained by mini-batch gradient descent, in plain Python.

Small on purpose, so that the whole loop (train, checkpoint, resume, evaluate, serve) runs anywhere with only the
standard library. Replace it with your own; keep the functions the other files call: `read_rows`, `Model`
(`predict_proba`, `to_dict`, `from_dict`), `fit_scaler`, `init_state`, `train_epoch`, `log_loss`, `accuracy`, `auc`,
`pack_model`, `unpack_model`.
"""
from __future__ import annotations

import csv
import gzip
import io
import json
import math
import random
import tarfile
from typing import Dict, List, Optional, Sequence, Tuple

# The columns of the data set (see data/make_dataset.py).
FEATURES = ("age", "income", "debt_ratio", "tenure_months", "late_payments")
LABEL = "default"
# Not a feature: the model never sees it. The evaluation reports metrics per value of it (fairness slices).
SENSITIVE = "group"
ID = "id"

MODEL_FILE = "model.json"
FORMAT = "mlops-starter-logreg/1"


def read_rows(text: str) -> List[Dict[str, str]]:
    """The rows of a CSV file with a header, as dictionaries of strings."""
    return list(csv.DictReader(io.StringIO(text)))


def features_of(row: Dict[str, object]) -> List[float]:
    """The feature vector of a row, in FEATURES order."""
    return [float(row[name]) for name in FEATURES]  # type: ignore[arg-type]


def sigmoid(z: float) -> float:
    # Two branches, so that exp never overflows.
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


class Model:
    """A trained model: standardisation of the features, then a linear score and a sigmoid."""

    def __init__(self, mean: Sequence[float], std: Sequence[float], weights: Sequence[float], bias: float,
                 threshold: float = 0.5, metadata: Optional[Dict[str, object]] = None) -> None:
        self.mean = list(mean)
        self.std = list(std)
        self.weights = list(weights)
        self.bias = bias
        self.threshold = threshold
        self.metadata = dict(metadata or {})

    def predict_proba(self, x: Sequence[float]) -> float:
        z = self.bias
        for value, mean, std, weight in zip(x, self.mean, self.std, self.weights):
            z += weight * (value - mean) / std
        return sigmoid(z)

    def predict(self, x: Sequence[float]) -> int:
        return 1 if self.predict_proba(x) >= self.threshold else 0

    def to_dict(self) -> Dict[str, object]:
        return {"format": FORMAT, "features": list(FEATURES), "mean": self.mean, "std": self.std,
                "weights": self.weights, "bias": self.bias, "threshold": self.threshold, "metadata": self.metadata}

    @staticmethod
    def from_dict(data: Dict[str, object]) -> "Model":
        if data.get("format") != FORMAT:
            raise ValueError(f"not a model of this code: format is {data.get('format')!r}, expected {FORMAT!r}")
        if data.get("features") != list(FEATURES):
            raise ValueError(f"the model was trained on features {data.get('features')}, this code has {list(FEATURES)}")
        return Model(data["mean"], data["std"], data["weights"], data["bias"],  # type: ignore[arg-type]
                     data.get("threshold", 0.5), data.get("metadata"))  # type: ignore[arg-type]


def fit_scaler(xs: Sequence[Sequence[float]]) -> Tuple[List[float], List[float]]:
    """Mean and standard deviation of each feature (1 for a constant feature, so that nothing divides by 0)."""
    n = len(xs)
    mean = [sum(x[j] for x in xs) / n for j in range(len(FEATURES))]
    std = []
    for j in range(len(FEATURES)):
        variance = sum((x[j] - mean[j]) ** 2 for x in xs) / n
        std.append(math.sqrt(variance) if variance > 0 else 1.0)
    return mean, std


def init_state(xs: Sequence[Sequence[float]]) -> Dict[str, object]:
    """The training state before the first epoch: what a checkpoint holds, besides the epoch number."""
    mean, std = fit_scaler(xs)
    return {"mean": mean, "std": std, "weights": [0.0] * len(FEATURES), "bias": 0.0}


def train_epoch(state: Dict[str, object], xs: Sequence[Sequence[float]], ys: Sequence[int], *, epoch: int, seed: int,
                learning_rate: float, batch_size: int, l2: float) -> Dict[str, object]:
    """One pass over the data in mini-batches; returns the new state.

    The order of the examples depends only on (seed, epoch): an epoch run after a resume is the same epoch it would
    have been without the interruption, so a resumed training ends with the same weights as an uninterrupted one.
    """
    mean, std = state["mean"], state["std"]  # type: ignore[assignment]
    weights = list(state["weights"])  # type: ignore[arg-type]
    bias = float(state["bias"])  # type: ignore[arg-type]
    scaled = [[(v - m) / s for v, m, s in zip(x, mean, std)] for x in xs]  # type: ignore[arg-type]
    order = list(range(len(xs)))
    random.Random(seed * 1_000_003 + epoch).shuffle(order)
    for start in range(0, len(order), batch_size):
        batch = order[start:start + batch_size]
        grad_w = [0.0] * len(weights)
        grad_b = 0.0
        for i in batch:
            z = bias + sum(w * v for w, v in zip(weights, scaled[i]))
            error = sigmoid(z) - ys[i]
            for j, v in enumerate(scaled[i]):
                grad_w[j] += error * v
            grad_b += error
        size = len(batch)
        weights = [w - learning_rate * (g / size + l2 * w) for w, g in zip(weights, grad_w)]
        bias -= learning_rate * grad_b / size
    return {"mean": mean, "std": std, "weights": weights, "bias": bias}


def log_loss(ys: Sequence[int], ps: Sequence[float]) -> float:
    eps = 1e-12
    return -sum(y * math.log(max(p, eps)) + (1 - y) * math.log(max(1 - p, eps)) for y, p in zip(ys, ps)) / len(ys)


def accuracy(ys: Sequence[int], ps: Sequence[float], threshold: float = 0.5) -> float:
    return sum(1 for y, p in zip(ys, ps) if (p >= threshold) == (y == 1)) / len(ys)


def auc(ys: Sequence[int], ps: Sequence[float]) -> Optional[float]:
    """The area under the ROC curve (ties count one half); None when only one class is present."""
    positives = sum(ys)
    negatives = len(ys) - positives
    if positives == 0 or negatives == 0:
        return None
    # Mann-Whitney U with average ranks for ties.
    ranked = sorted(range(len(ps)), key=lambda i: ps[i])
    ranks = [0.0] * len(ps)
    i = 0
    while i < len(ranked):
        j = i
        while j + 1 < len(ranked) and ps[ranked[j + 1]] == ps[ranked[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[ranked[k]] = (i + j) / 2 + 1
        i = j + 1
    rank_sum = sum(r for r, y in zip(ranks, ys) if y == 1)
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)


def pack_model(model: Model) -> bytes:
    """`model.tar.gz` as SageMaker expects it: the files of the model at the root of a gzipped tar (byte-stable)."""
    data = json.dumps(model.to_dict(), indent=2, sort_keys=True).encode("utf-8")
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        info = tarfile.TarInfo(MODEL_FILE)
        info.size = len(data)
        info.mtime = 0
        info.mode = 0o644
        archive.addfile(info, io.BytesIO(data))
    # mtime 0 in the tar entry and in the gzip header: the same model gives the same bytes.
    return gzip.compress(buffer.getvalue(), compresslevel=9, mtime=0)


def unpack_model(archive_bytes: bytes) -> Model:
    """The model in a `model.tar.gz`."""
    with tarfile.open(fileobj=io.BytesIO(archive_bytes), mode="r:gz") as archive:
        member = archive.extractfile(MODEL_FILE)
        if member is None:
            raise ValueError(f"model.tar.gz has no {MODEL_FILE}")
        return Model.from_dict(json.loads(member.read().decode("utf-8")))

