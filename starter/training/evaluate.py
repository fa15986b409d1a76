"""The evaluation job: `python -m evaluate`, one child of an array job per shard.

Reads the contract from the environment (mlops_contract.py): the model at MLOPS_MODEL_URI, evaluation.csv under
MLOPS_DATA_URI, and its shard: AWS_BATCH_JOB_ARRAY_INDEX (0 when unset: one shard) of MLOPS_SHARD_COUNT. Shard i
takes rows i, i + n, i + 2n, ... so the shards split the data evenly and none overlaps another. Writes
`metrics-<i>.json` under MLOPS_OUTPUT_URI:

    {"metrics": {"auc": ..., "accuracy": ..., "logloss": ...},
     "slices": {"group=a": {"auc": ...}, "group=b": {...}},
     "latencyMs": {"p50": ..., "p95": ..., "p99": ...},
     "count": <rows scored>}

The workflow aggregates the shards (means weighted by count, latency by the maximum) and the quality gate judges the
aggregate: thresholds on `metrics`, the largest gap of a metric between `slices` (fairness), and a latency budget.
A metric that cannot be computed on a shard or slice (AUC with one class only) is left out, not written as 0.

`python -m evaluate --local DIR` evaluates DIR/output/model.tar.gz on the committed data into DIR/evaluation.
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import time
from typing import Dict, List, Mapping, Optional, Sequence

import mlops_contract as contract
from model import LABEL, SENSITIVE, Model, accuracy, auc, features_of, log_loss, read_rows, unpack_model
from validate_data import EVALUATION_FILE


def shard_rows(rows: Sequence[dict], index: int, count: int) -> List[dict]:
    return list(rows[index::count])


def nearest_rank(values: Sequence[float], p: float) -> float:
    """The p-th percentile by the nearest-rank method: the value at rank ceil(p / 100 * n) of the sorted values."""
    ordered = sorted(values)
    return ordered[max(1, math.ceil(p * len(ordered) / 100)) - 1]


def quality(ys: Sequence[int], ps: Sequence[float]) -> Dict[str, float]:
    """The metrics of a set of predictions; those that cannot be computed on it are left out."""
    metrics = {"accuracy": accuracy(ys, ps), "logloss": log_loss(ys, ps),
               "positive_rate": sum(1 for p in ps if p >= 0.5) / len(ps)}
    area = auc(ys, ps)
    if area is not None:
        metrics["auc"] = area
    positives = [p for y, p in zip(ys, ps) if y == 1]
    if positives:
        # Equal opportunity compares this between groups.
        metrics["true_positive_rate"] = sum(1 for p in positives if p >= 0.5) / len(positives)
    return metrics


def evaluate(job: contract.EvaluationContract) -> dict:
    """Runs one shard of the evaluation; returns what it wrote."""
    model: Model = unpack_model(contract.read_bytes(job.model_uri))
    rows = read_rows(contract.read_data(job, EVALUATION_FILE).decode("utf-8"))
    shard = shard_rows(rows, job.shard_index, job.shard_count)
    if not shard:
        raise contract.ContractError(f"shard {job.shard_index} of {job.shard_count} is empty: {EVALUATION_FILE} has "
                                     f"{len(rows)} rows; use fewer shards")
    ys = [int(row[LABEL]) for row in shard]
    ps: List[float] = []
    latencies: List[float] = []
    for row in shard:
        # The latency of one prediction as the serving code makes it: from the raw row to the probability.
        began = time.perf_counter()
        ps.append(model.predict_proba(features_of(row)))
        latencies.append((time.perf_counter() - began) * 1000)

    slices = {}
    for group in sorted({row[SENSITIVE] for row in shard}):
        members = [i for i, row in enumerate(shard) if row[SENSITIVE] == group]
        slices[f"{SENSITIVE}={group}"] = quality([ys[i] for i in members], [ps[i] for i in members])
    result = {
        "metrics": quality(ys, ps),
        "slices": slices,
        "latencyMs": {f"p{p}": nearest_rank(latencies, p) for p in (50, 95, 99)},
        "count": len(shard),
    }
    uri = contract.join(job.output_uri, f"metrics-{job.shard_index}.json")
    contract.write_json(uri, result)
    contract.log(f"shard {job.shard_index} of {job.shard_count}: {len(shard)} rows, auc {result['metrics'].get('auc')}; "
                 f"wrote {uri}")
    return result


def local_defaults(directory: str, env: Mapping[str, str]) -> Dict[str, str]:
    data = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "data")
    defaults = {contract.DATA_URI: os.path.normpath(data),
                contract.MODEL_URI: os.path.join(directory, "output", contract.MODEL_FILE),
                contract.OUTPUT_URI: os.path.join(directory, "evaluation")}
    return {**defaults, **{k: v for k, v in env.items() if v}}


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evaluate", description=__doc__.splitlines()[0])
    parser.add_argument("--local", metavar="DIR", help="fill in the contract variables that are not set, for a local run")
    args = parser.parse_args(argv)
    env: Mapping[str, str] = local_defaults(args.local, os.environ) if args.local else os.environ
    try:
        evaluate(contract.evaluation_contract(env))
    except (contract.ContractError, FileNotFoundError) as error:
        contract.log(f"ERROR: {error}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
