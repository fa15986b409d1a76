"""Data validation: the checks a data set must pass before anything trains on it.

`python -m validate_data [DATA_URI]` checks train.csv and evaluation.csv under a data prefix (default: the
MLOPS_DATA_URI variable) and exits 1 listing every problem. The training job runs the same checks on its input first,
and the unit tests run them on the committed data (tests/test_data.py), so the Check stage catches bad data too.
"""
from __future__ import annotations

import math
import os
import sys
from typing import Dict, List

import mlops_contract as contract
from model import FEATURES, ID, LABEL, SENSITIVE, read_rows

TRAIN_FILE = "train.csv"
EVALUATION_FILE = "evaluation.csv"
COLUMNS = (ID, SENSITIVE) + FEATURES + (LABEL,)
GROUPS = ("a", "b")
# name -> (smallest, largest, whole number?)
RANGES = {
    "age": (18, 120, True),
    "income": (0.0, 100000.0, False),
    "debt_ratio": (0.0, 1.0, False),
    "tenure_months": (0, 1200, True),
    "late_payments": (0, 12, True),
}
MIN_ROWS = 50
MAX_REPORTED = 20


def validate_rows(rows: List[Dict[str, str]], name: str) -> List[str]:
    """Every problem of one file's rows, each naming the file, the line and the column; empty when valid."""
    problems: List[str] = []
    if not rows:
        return [f"{name}: no rows"]
    columns = tuple(rows[0].keys())
    if columns != COLUMNS:
        return [f"{name}: the columns are {','.join(columns)}, expected {','.join(COLUMNS)}"]
    seen = set()
    for line, row in enumerate(rows, start=2):
        where = f"{name} line {line}"
        if row[ID] in seen:
            problems.append(f"{where}: id {row[ID]!r} appears twice")
        seen.add(row[ID])
        if row[SENSITIVE] not in GROUPS:
            problems.append(f"{where}: {SENSITIVE} is {row[SENSITIVE]!r}, not one of {', '.join(GROUPS)}")
        if row[LABEL] not in ("0", "1"):
            problems.append(f"{where}: {LABEL} is {row[LABEL]!r}, not 0 or 1")
        for column, (low, high, whole) in RANGES.items():
            problem = _number_problem(row[column], low, high, whole)
            if problem:
                problems.append(f"{where}: {column} {problem}")
    if len(rows) < MIN_ROWS:
        problems.append(f"{name}: {len(rows)} rows, fewer than {MIN_ROWS}")
    # Every group needs both labels, or its fairness metrics (AUC) cannot be computed.
    for group in GROUPS:
        labels = {row[LABEL] for row in rows if row[SENSITIVE] == group}
        if labels != {"0", "1"}:
            problems.append(f"{name}: group {group!r} has labels {sorted(labels)}, needs both 0 and 1")
    return problems


def _number_problem(text: str, low: float, high: float, whole: bool) -> str:
    try:
        value = float(text)
    except ValueError:
        return f"is {text!r}, not a number"
    if not math.isfinite(value):
        return f"is {text!r}, not a finite number"
    if whole and value != int(value):
        return f"is {text}, not a whole number"
    if not low <= value <= high:
        return f"is {text}, outside {low}..{high}"
    return ""


def validate(data_uri: str) -> List[str]:
    """Every problem of the data set under `data_uri` (train.csv and evaluation.csv)."""
    problems: List[str] = []
    for name in (TRAIN_FILE, EVALUATION_FILE):
        uri = contract.join(data_uri, name)
        try:
            rows = read_rows(contract.read_text(uri))
        except FileNotFoundError:
            problems.append(f"{uri} does not exist")
            continue
        problems.extend(validate_rows(rows, name))
    return problems


def main(argv: List[str]) -> int:
    data_uri = argv[0] if argv else os.environ.get(contract.DATA_URI, "")
    if not data_uri:
        print(f"usage: python -m validate_data DATA_URI (or set {contract.DATA_URI})", file=sys.stderr)
        return 2
    problems = validate(data_uri)
    for problem in problems[:MAX_REPORTED]:
        print(problem, file=sys.stderr)
    if len(problems) > MAX_REPORTED:
        print(f"... and {len(problems) - MAX_REPORTED} more", file=sys.stderr)
    if problems:
        return 1
    print(f"{data_uri}: valid")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
