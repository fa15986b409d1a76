"""Writes the starter's data set: train.csv and evaluation.csv, next to this script.

A synthetic credit-default data set (800 applicants), the same bytes on every run: `python data/make_dataset.py`.
The label depends on the debt ratio, income, late payments, tenure and age. `group` is a sensitive attribute: the
model never sees it, and the evaluation reports its metrics for each group (the gate's fairness rule). The groups
differ a little in income, as real data would, so the fairness check has something to measure.

Replace it with your own data: upload it under the data bucket's prefix (train.csv and evaluation.csv, with the
same columns, or change model.py and validate_data.py along with it).
"""
from __future__ import annotations

import math
import os
import random

SEED = 20261203
ROWS = 800
TRAIN_ROWS = 600
COLUMNS = ("id", "group", "age", "income", "debt_ratio", "tenure_months", "late_payments", "default")


def normal(rng: random.Random) -> float:
    # The sum of 12 uniforms, minus 6: close to a standard normal, and plain arithmetic (the same on every platform).
    return sum(rng.random() for _ in range(12)) - 6.0


def applicant(rng: random.Random, number: int) -> dict:
    group = "a" if rng.random() < 0.6 else "b"
    age = min(80, max(18, round(41 + 12 * normal(rng))))
    income = round(max(8.0, 52 + (6 if group == "a" else -6) + 18 * normal(rng)), 1)  # thousands a year
    debt_ratio = round(min(0.95, max(0.0, 0.32 + 0.15 * normal(rng))), 3)
    tenure_months = max(0, round(36 + 24 * normal(rng)))
    late_payments = sum(1 for _ in range(12) if rng.random() < 0.04 + 0.25 * debt_ratio)
    score = (-1.1 + 5.0 * (debt_ratio - 0.32) - 0.035 * (income - 52) + 0.55 * late_payments
             - 0.012 * (tenure_months - 36) - 0.02 * (age - 41) + 0.5 * normal(rng))
    default = 1 if rng.random() < 1 / (1 + math.exp(-score)) else 0
    return {"id": f"app-{number:04d}", "group": group, "age": age, "income": income, "debt_ratio": debt_ratio,
            "tenure_months": tenure_months, "late_payments": late_payments, "default": default}


def rows() -> list:
    rng = random.Random(SEED)
    return [applicant(rng, i + 1) for i in range(ROWS)]


def to_csv(records: list) -> str:
    lines = [",".join(COLUMNS)]
    lines.extend(",".join(str(record[column]) for column in COLUMNS) for record in records)
    return "\n".join(lines) + "\n"


def files() -> dict:
    """File name -> content."""
    records = rows()
    return {"train.csv": to_csv(records[:TRAIN_ROWS]), "evaluation.csv": to_csv(records[TRAIN_ROWS:])}


def main() -> None:
    directory = os.path.dirname(os.path.abspath(__file__))
    for name, content in files().items():
        with open(os.path.join(directory, name), "w", encoding="utf-8", newline="") as file:
            file.write(content)
        print(f"wrote {name}: {content.count(chr(10)) - 1} rows")


if __name__ == "__main__":
    main()
