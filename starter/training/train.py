"""The training job: `python -m train`.

Reads the contract from the environment (mlops_contract.py): trains the MLOPS_CANDIDATE approach with
MLOPS_HYPERPARAMETERS on train.csv under MLOPS_DATA_URI, writes a checkpoint under MLOPS_CHECKPOINT_URI after every
epoch, and at the end writes model.tar.gz, then metrics.json, under MLOPS_OUTPUT_URI.

When a checkpoint exists it resumes from it: a later attempt of a spot job that was reclaimed (AWS_BATCH_JOB_ATTEMPT
> 1), or the on-demand job the workflow starts when spot could not finish (a new job, attempt 1, the same checkpoint
prefix). The checkpoint prefix is one per run and candidate, so a checkpoint there is this run's.

`python -m train --local DIR` fills in what is not set for a run on your machine: the committed data, outputs and
checkpoints under DIR, the candidate `logreg`. The smoke training of the Check stage runs the same way.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from typing import Dict, List, Mapping, Optional

import mlops_contract as contract
from model import LABEL, Model, accuracy, auc, features_of, init_state, log_loss, pack_model, read_rows, train_epoch
from validate_data import TRAIN_FILE, validate_rows

CHECKPOINT_FILE = "checkpoint.json"
CHECKPOINT_FORMAT = "mlops-starter-checkpoint/1"

# The candidate approaches and their defaults; MLOPS_HYPERPARAMETERS overrides them, key by key.
CANDIDATES: Dict[str, Dict[str, object]] = {
    "logreg": {"learning_rate": 0.1, "epochs": 40, "batch_size": 32, "l2": 0.0, "seed": 7},
    "logreg-l2": {"learning_rate": 0.1, "epochs": 40, "batch_size": 32, "l2": 0.01, "seed": 7},
}
# name -> (type, smallest allowed value)
HYPERPARAMETERS = {"learning_rate": (float, 1e-9), "epochs": (int, 1), "batch_size": (int, 1),
                   "l2": (float, 0.0), "seed": (int, 0)}


def configuration(candidate: str, overrides: Mapping[str, object]) -> Dict[str, object]:
    """The candidate's defaults with the overrides applied. Values arrive as JSON: a number, or a string of one."""
    if candidate not in CANDIDATES:
        raise contract.ContractError(f"{contract.CANDIDATE} is {candidate!r}, not one of {', '.join(CANDIDATES)}: "
                                     "add it to CANDIDATES in train.py, or fix the candidate's name in the workflow")
    config = dict(CANDIDATES[candidate])
    for name, value in overrides.items():
        if name not in HYPERPARAMETERS:
            raise contract.ContractError(f"{contract.HYPERPARAMETERS} has {name!r}, which this training does not know "
                                         f"(known: {', '.join(HYPERPARAMETERS)})")
        kind, smallest = HYPERPARAMETERS[name]
        try:
            if isinstance(value, bool):
                raise ValueError  # JSON true is not 1
            parsed = kind(value)
            if kind is int and float(value) != parsed:
                raise ValueError
        except (TypeError, ValueError):
            raise contract.ContractError(f"hyperparameter {name} is {value!r}, not a {kind.__name__}") from None
        if parsed < smallest:
            raise contract.ContractError(f"hyperparameter {name} is {parsed}, below {smallest}")
        config[name] = parsed
    return config


def local_defaults(directory: str, env: Mapping[str, str]) -> Dict[str, str]:
    """The environment of a local run: what is set wins; the rest points under `directory`."""
    data = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "data")
    defaults = {contract.DATA_URI: os.path.normpath(data), contract.OUTPUT_URI: os.path.join(directory, "output"),
                contract.CHECKPOINT_URI: os.path.join(directory, "checkpoints"), contract.CANDIDATE: "logreg"}
    return {**defaults, **{k: v for k, v in env.items() if v}}


def read_checkpoint(uri: str) -> Optional[dict]:
    try:
        return json.loads(contract.read_text(uri))
    except FileNotFoundError:
        return None


def train(job: contract.TrainingContract) -> dict:
    """Runs the training job; returns what it wrote to metrics.json."""
    config = configuration(job.candidate, job.hyperparameters)
    data_uri = contract.join(job.data_uri, TRAIN_FILE)
    data = contract.read_data(job, TRAIN_FILE)
    rows = read_rows(data.decode("utf-8"))
    problems = validate_rows(rows, data_uri)
    if problems:
        raise contract.ContractError("the training data is invalid:\n" + "\n".join(problems[:20]))
    xs = [features_of(row) for row in rows]
    ys = [int(row[LABEL]) for row in rows]

    # What a checkpoint must match to be resumed: everything that shapes the model, except the number of epochs.
    identity = {"candidate": job.candidate, "data": hashlib.sha256(data).hexdigest(),
                "config": {k: v for k, v in sorted(config.items()) if k != "epochs"}}
    checkpoint_uri = contract.join(job.checkpoint_uri, CHECKPOINT_FILE)
    checkpoint = read_checkpoint(checkpoint_uri)
    if checkpoint is not None and (checkpoint.get("format") != CHECKPOINT_FORMAT or checkpoint.get("identity") != identity):
        raise contract.ContractError(
            f"{checkpoint_uri} belongs to another training (candidate, data or hyperparameters differ): "
            f"{contract.CHECKPOINT_URI} must be one prefix per run and candidate")
    if checkpoint is not None:
        start, state, losses = checkpoint["epoch"], checkpoint["state"], checkpoint["losses"]
        contract.log(f"attempt {job.attempt}: resuming from the checkpoint of epoch {start} ({checkpoint_uri})")
    else:
        start, state, losses = 0, init_state(xs), []
        contract.log(f"attempt {job.attempt}: no checkpoint, starting at epoch 0")

    epochs = int(config["epochs"])
    began = time.monotonic()
    for epoch in range(start, epochs):
        state = train_epoch(state, xs, ys, epoch=epoch, seed=int(config["seed"]),
                            learning_rate=float(config["learning_rate"]), batch_size=int(config["batch_size"]),
                            l2=float(config["l2"]))
        loss = log_loss(ys, [_model(state).predict_proba(x) for x in xs])
        losses.append(loss)
        contract.write_json(checkpoint_uri, {"format": CHECKPOINT_FORMAT, "identity": identity, "epoch": epoch + 1,
                                             "state": state, "losses": losses})
        contract.log(f"epoch {epoch + 1}/{epochs}: loss {loss:.5f} (checkpoint written)")

    metadata = {"candidate": job.candidate, "hyperparameters": config, "codeVersion": job.code_version,
                "dataVersion": job.data_version, "dataSha256": identity["data"]}
    model = _model(state, metadata)
    ps = [model.predict_proba(x) for x in xs]
    metrics = {
        "metrics": {"train_logloss": log_loss(ys, ps), "train_accuracy": accuracy(ys, ps), "train_auc": auc(ys, ps)},
        "count": len(rows),
        # Not read by the workflow (it ignores fields it does not know): how this result came about.
        "training": {"candidate": job.candidate, "attempt": job.attempt, "startEpoch": start, "epochs": epochs,
                     "seconds": round(time.monotonic() - began, 3), "lossByEpoch": losses},
    }
    # metrics.json last: when it exists, model.tar.gz is complete.
    contract.write_bytes(contract.join(job.output_uri, contract.MODEL_FILE), pack_model(model))
    contract.write_json(contract.join(job.output_uri, contract.METRICS_FILE), metrics)
    contract.log(f"wrote {contract.MODEL_FILE} and {contract.METRICS_FILE} under {job.output_uri}: "
                 f"train_auc {metrics['metrics']['train_auc']:.4f}")
    return metrics


def _model(state: dict, metadata: Optional[dict] = None) -> Model:
    return Model(state["mean"], state["std"], state["weights"], state["bias"], metadata=metadata)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m train", description=__doc__.splitlines()[0])
    parser.add_argument("--local", metavar="DIR", help="fill in the contract variables that are not set, for a local run")
    args = parser.parse_args(argv)
    env: Mapping[str, str] = local_defaults(args.local, os.environ) if args.local else os.environ
    try:
        train(contract.training_contract(env))
    except contract.ContractError as error:
        contract.log(f"ERROR: {error}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
