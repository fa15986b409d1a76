"""The cdk-mlops container contract, read in one place, and a tiny storage layer.

The training and evaluation jobs get everything from environment variables (see the README's contract table);
`training_contract()` and `evaluation_contract()` read and check them, and fail with a message that names the
variable and the fix. A URI is `s3://bucket/key` (read and written with boto3, imported only when needed), or a
local path or `file://` URI: local directories stand in for S3 in tests and local runs.
"""
from __future__ import annotations

import json
import os
import sys
import tempfile
from dataclasses import dataclass
from typing import Dict, Mapping, Optional

DATA_URI = "MLOPS_DATA_URI"
DATA_VERSION = "MLOPS_DATA_VERSION"
DATA_MANIFEST_URI = "MLOPS_DATA_MANIFEST_URI"
OUTPUT_URI = "MLOPS_OUTPUT_URI"
CHECKPOINT_URI = "MLOPS_CHECKPOINT_URI"
CANDIDATE = "MLOPS_CANDIDATE"
HYPERPARAMETERS = "MLOPS_HYPERPARAMETERS"
CODE_VERSION = "MLOPS_CODE_VERSION"
MODEL_URI = "MLOPS_MODEL_URI"
SHARD_COUNT = "MLOPS_SHARD_COUNT"
# Set by AWS Batch: the attempt number (1 for the first), and the child's index in an array job (unset otherwise).
JOB_ATTEMPT = "AWS_BATCH_JOB_ATTEMPT"
ARRAY_INDEX = "AWS_BATCH_JOB_ARRAY_INDEX"

MODEL_FILE = "model.tar.gz"
METRICS_FILE = "metrics.json"


class ContractError(Exception):
    """The environment does not follow the contract: the message says which variable and how to fix it."""


@dataclass(frozen=True)
class TrainingContract:
    data_uri: str
    output_uri: str
    checkpoint_uri: str
    candidate: str
    hyperparameters: Dict[str, object]
    attempt: int
    data_version: Optional[str] = None
    code_version: Optional[str] = None
    data_manifest_uri: Optional[str] = None


@dataclass(frozen=True)
class EvaluationContract:
    data_uri: str
    model_uri: str
    output_uri: str
    shard_index: int
    shard_count: int
    candidate: Optional[str] = None
    data_version: Optional[str] = None
    code_version: Optional[str] = None
    data_manifest_uri: Optional[str] = None


def training_contract(env: Mapping[str, str] = os.environ) -> TrainingContract:
    return TrainingContract(
        data_uri=_required(env, DATA_URI),
        output_uri=_required(env, OUTPUT_URI),
        checkpoint_uri=_required(env, CHECKPOINT_URI),
        candidate=_required(env, CANDIDATE),
        hyperparameters=_hyperparameters(env),
        attempt=_integer(env, JOB_ATTEMPT, default=1, minimum=1),
        data_version=_optional(env, DATA_VERSION),
        code_version=_optional(env, CODE_VERSION),
        data_manifest_uri=_optional(env, DATA_MANIFEST_URI),
    )


def evaluation_contract(env: Mapping[str, str] = os.environ) -> EvaluationContract:
    count = _integer(env, SHARD_COUNT, default=1, minimum=1)
    # One shard: the job is not an array job and Batch sets no index.
    index = _integer(env, ARRAY_INDEX, default=0, minimum=0)
    if index >= count:
        raise ContractError(f"{ARRAY_INDEX} is {index}, but {SHARD_COUNT} is {count}: the index must be below the count. "
                            f"Set {SHARD_COUNT} to the array size of the evaluation job.")
    return EvaluationContract(
        data_uri=_required(env, DATA_URI),
        model_uri=_required(env, MODEL_URI),
        output_uri=_required(env, OUTPUT_URI),
        shard_index=index,
        shard_count=count,
        candidate=_optional(env, CANDIDATE),
        data_version=_optional(env, DATA_VERSION),
        code_version=_optional(env, CODE_VERSION),
        data_manifest_uri=_optional(env, DATA_MANIFEST_URI),
    )


def _optional(env: Mapping[str, str], name: str) -> Optional[str]:
    value = env.get(name, "").strip()
    return value or None


def _required(env: Mapping[str, str], name: str) -> str:
    value = _optional(env, name)
    if value is None:
        raise ContractError(f"{name} is not set: the workflow sets it on every job. To run locally, set it yourself "
                            "(a local directory stands in for an s3:// prefix), or use --local DIR.")
    return value


def _integer(env: Mapping[str, str], name: str, default: int, minimum: int) -> int:
    text = _optional(env, name)
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        raise ContractError(f"{name} is {text!r}, not a whole number") from None
    if value < minimum:
        raise ContractError(f"{name} is {value}, below {minimum}")
    return value


def _hyperparameters(env: Mapping[str, str]) -> Dict[str, object]:
    text = _optional(env, HYPERPARAMETERS) or "{}"
    try:
        value = json.loads(text)
    except ValueError as error:
        raise ContractError(f"{HYPERPARAMETERS} is not valid JSON ({error}): give one JSON object, "
                            'for example {"learning_rate": "0.1"}') from None
    if not isinstance(value, dict):
        raise ContractError(f"{HYPERPARAMETERS} is {text!r}, not a JSON object")
    return value


# --- data: the object versions a data version pinned ----------------------------------------------------------

def read_data(job, name: str) -> bytes:
    """The file `name` under the job's data URI, as the run's data version recorded it.

    With a manifest, an S3 read asks for the version the manifest lists, so an object overwritten after the snapshot
    cannot change what this run trains or evaluates on (the bucket keeps every version). A local read cannot ask for a
    version: it checks the size instead. Without a manifest (a local run), it reads the current file.
    """
    uri = join(job.data_uri, name)
    if job.data_manifest_uri is None:
        return read_bytes(uri)
    entry = _manifest_entry(job.data_manifest_uri, uri, name)
    if uri.startswith("s3://"):
        data = read_bytes(uri, version_id=entry["versionId"])
    else:
        data = read_bytes(uri)
    if len(data) != entry["size"]:
        raise ContractError(f"{uri} has {len(data)} bytes, but the data version ({job.data_manifest_uri}) recorded "
                            f"{entry['size']}: it changed after the snapshot; take a new data version")
    return data


def _manifest_entry(manifest_uri: str, uri: str, name: str) -> dict:
    try:
        lines = read_text(manifest_uri).splitlines()
    except FileNotFoundError:
        raise ContractError(f"{DATA_MANIFEST_URI} is {manifest_uri}, which does not exist") from None
    entries = []
    for number, line in enumerate(lines, start=1):
        if line.strip():
            try:
                entries.append(json.loads(line))
            except ValueError:
                raise ContractError(f"{manifest_uri} line {number} is not JSON: not a data version manifest") from None
    if uri.startswith("s3://"):
        key = _split_s3(uri)[1]
        found = [e for e in entries if e.get("key") == key]
    else:
        # A local directory has no S3 keys: the entry of that file name stands in (it must be the only one).
        key = name
        found = [e for e in entries if e.get("key") == name or str(e.get("key", "")).endswith("/" + name)]
    if len(found) != 1:
        listed = "lists no" if not found else "lists more than one"
        raise ContractError(f"the data version ({manifest_uri}) {listed} {key}: put the file under the data prefix "
                            "and take a new data version")
    return found[0]


# --- storage: s3://, file:// or a local path ---------------------------------------------------------------------

def join(prefix: str, name: str) -> str:
    """The URI of `name` under a prefix (`s3://bucket/runs/1/` or a local directory)."""
    if prefix.startswith("s3://"):
        return prefix + name if prefix.endswith("/") else f"{prefix}/{name}"
    return os.path.join(_local_path(prefix), name)


def read_bytes(uri: str, version_id: Optional[str] = None) -> bytes:
    """The object or file at `uri` (an S3 object's `version_id` if given); FileNotFoundError when there is none."""
    if uri.startswith("s3://"):
        bucket, key = _split_s3(uri)
        client = _s3()
        request = {"Bucket": bucket, "Key": key, **({"VersionId": version_id} if version_id else {})}
        try:
            return client.get_object(**request)["Body"].read()
        except client.exceptions.NoSuchKey:
            raise FileNotFoundError(uri) from None
    with open(_local_path(uri), "rb") as file:
        return file.read()


def read_text(uri: str) -> str:
    return read_bytes(uri).decode("utf-8")


def write_bytes(uri: str, data: bytes) -> None:
    """Writes `data` to `uri` whole: a reader sees the old content or the new, never a part (S3 PUT; rename locally)."""
    if uri.startswith("s3://"):
        bucket, key = _split_s3(uri)
        _s3().put_object(Bucket=bucket, Key=key, Body=data)
        return
    path = _local_path(uri)
    directory = os.path.dirname(path) or "."
    os.makedirs(directory, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=".tmp-")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        os.chmod(temporary, 0o644)  # mkstemp creates it private
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def write_json(uri: str, value: object) -> None:
    write_bytes(uri, (json.dumps(value, indent=2, sort_keys=True) + "\n").encode("utf-8"))


def _local_path(uri: str) -> str:
    return uri[len("file://"):] if uri.startswith("file://") else uri


def _split_s3(uri: str):
    bucket, _, key = uri[len("s3://"):].partition("/")
    if not bucket or not key:
        raise ContractError(f"{uri!r} is not an S3 object URI like s3://bucket/key")
    return bucket, key


_client = None


def _s3():
    global _client
    if _client is None:
        try:
            import boto3  # only the s3:// case needs it: tests and local runs do not
        except ImportError:
            raise ContractError("s3:// URIs need boto3 (pip install boto3; the Dockerfile installs it)") from None
        _client = boto3.client("s3")
    return _client


def log(message: str) -> None:
    """One line on stderr, where Batch sends it to CloudWatch Logs."""
    print(message, file=sys.stderr, flush=True)
