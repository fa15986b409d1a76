import json
import os
import sys
import unittest
from unittest import mock

import mlops_contract as contract
from tests.helpers import TempDirTestCase

TRAINING = {"MLOPS_DATA_URI": "s3://data/datasets/credit/", "MLOPS_OUTPUT_URI": "s3://models/runs/1/logreg/",
            "MLOPS_CHECKPOINT_URI": "s3://checkpoints/runs/1/logreg/", "MLOPS_CANDIDATE": "logreg"}
EVALUATION = {"MLOPS_DATA_URI": "s3://data/datasets/credit/", "MLOPS_MODEL_URI": "s3://models/runs/1/logreg/model.tar.gz",
              "MLOPS_OUTPUT_URI": "s3://models/evaluations/1/logreg/"}


class TrainingContractTest(unittest.TestCase):
    def test_reads_the_variables_the_workflow_sets(self):
        job = contract.training_contract({**TRAINING, "MLOPS_HYPERPARAMETERS": '{"epochs": "3", "l2": "0.5"}',
                                          "AWS_BATCH_JOB_ATTEMPT": "2", "MLOPS_DATA_VERSION": "abc",
                                          "MLOPS_CODE_VERSION": "3f2c1ab"})
        self.assertEqual(job.hyperparameters, {"epochs": "3", "l2": "0.5"})
        self.assertEqual((job.attempt, job.data_version, job.code_version), (2, "abc", "3f2c1ab"))

    def test_defaults_the_first_attempt_and_no_hyperparameters(self):
        job = contract.training_contract(TRAINING)
        self.assertEqual((job.attempt, job.hyperparameters, job.data_version), (1, {}, None))

    def test_fails_when_a_variable_is_missing(self):
        env = {k: v for k, v in TRAINING.items() if k != "MLOPS_CHECKPOINT_URI"}
        with self.assertRaisesRegex(contract.ContractError, "MLOPS_CHECKPOINT_URI is not set"):
            contract.training_contract(env)

    def test_fails_when_the_hyperparameters_are_not_a_json_object(self):
        for text, message in (("{epochs: 3}", "not valid JSON"), ('["epochs"]', "not a JSON object")):
            with self.assertRaisesRegex(contract.ContractError, message):
                contract.training_contract({**TRAINING, "MLOPS_HYPERPARAMETERS": text})

    def test_fails_when_the_attempt_is_not_a_number(self):
        with self.assertRaisesRegex(contract.ContractError, "AWS_BATCH_JOB_ATTEMPT is 'two'"):
            contract.training_contract({**TRAINING, "AWS_BATCH_JOB_ATTEMPT": "two"})


class EvaluationContractTest(unittest.TestCase):
    def test_one_shard_has_no_array_index(self):
        job = contract.evaluation_contract(EVALUATION)
        self.assertEqual((job.shard_index, job.shard_count), (0, 1))

    def test_reads_the_shard(self):
        job = contract.evaluation_contract({**EVALUATION, "MLOPS_SHARD_COUNT": "8", "AWS_BATCH_JOB_ARRAY_INDEX": "7"})
        self.assertEqual((job.shard_index, job.shard_count), (7, 8))

    def test_fails_when_the_index_is_not_below_the_count(self):
        with self.assertRaisesRegex(contract.ContractError, "AWS_BATCH_JOB_ARRAY_INDEX is 2, but MLOPS_SHARD_COUNT is 2"):
            contract.evaluation_contract({**EVALUATION, "MLOPS_SHARD_COUNT": "2", "AWS_BATCH_JOB_ARRAY_INDEX": "2"})


class StorageTest(TempDirTestCase):
    def test_joins_s3_prefixes_with_or_without_a_slash(self):
        self.assertEqual(contract.join("s3://models/runs/1/", "model.tar.gz"), "s3://models/runs/1/model.tar.gz")
        self.assertEqual(contract.join("s3://models/runs/1", "model.tar.gz"), "s3://models/runs/1/model.tar.gz")

    def test_local_paths_and_file_uris_stand_in_for_s3(self):
        contract.write_bytes(contract.join(self.path("a", "b"), "x.json"), b"1")
        self.assertEqual(contract.read_bytes("file://" + self.path("a", "b", "x.json")), b"1")
        contract.write_json(contract.join("file://" + self.path("a"), "y.json"), {"b": 1, "a": 2})
        self.assertEqual(contract.read_text(self.path("a", "y.json")), '{\n  "a": 2,\n  "b": 1\n}\n')
        self.assertEqual(sorted(os.listdir(self.path("a"))), ["b", "y.json"])  # no temporary file left behind

    def test_a_missing_file_is_file_not_found(self):
        with self.assertRaises(FileNotFoundError):
            contract.read_bytes(self.path("nothing"))

    def test_s3_without_boto3_says_what_to_install(self):
        # None in sys.modules makes `import boto3` fail, as on a machine without it.
        with mock.patch.dict(sys.modules, {"boto3": None}), mock.patch.object(contract, "_client", None):
            with self.assertRaisesRegex(contract.ContractError, "s3:// URIs need boto3"):
                contract.read_bytes("s3://models/runs/1/model.tar.gz")


class _Body:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def read(self) -> bytes:
        return self._data


class _FakeS3:
    """Answers GetObject from a dict of (key, version) -> bytes, and records the requests (boto3's call shape)."""

    class exceptions:  # noqa: N801 - boto3 names it so
        class NoSuchKey(Exception):
            pass

    def __init__(self, objects: dict) -> None:
        self.objects = objects
        self.requests = []

    def get_object(self, **request):
        self.requests.append(request)
        found = self.objects.get((request["Key"], request.get("VersionId")))
        if found is None:
            raise self.exceptions.NoSuchKey()
        return {"Body": _Body(found)}


class DataVersionReadTest(TempDirTestCase):
    """With MLOPS_DATA_MANIFEST_URI, a job reads the object versions the data version pinned."""

    def manifest(self, *entries: dict) -> str:
        uri = self.path("manifest.jsonl")
        contract.write_bytes(uri, "".join(json.dumps(e) + "\n" for e in entries).encode("utf-8"))
        return uri

    def test_s3_reads_ask_for_the_version_in_the_manifest(self):
        manifest = self.manifest({"key": "datasets/credit/other.csv", "versionId": "v0", "etag": "e", "size": 1},
                                 {"key": "datasets/credit/train.csv", "versionId": "v1", "etag": "e", "size": 3})
        # v2 is what an upload after the snapshot made current: the job must not see it.
        s3 = _FakeS3({("datasets/credit/train.csv", "v1"): b"old", ("datasets/credit/train.csv", None): b"newer"})
        job = contract.training_contract({**TRAINING, "MLOPS_DATA_MANIFEST_URI": manifest})
        with mock.patch.object(contract, "_client", s3):
            self.assertEqual(contract.read_data(job, "train.csv"), b"old")
        self.assertEqual(s3.requests, [{"Bucket": "data", "Key": "datasets/credit/train.csv", "VersionId": "v1"}])

    def test_without_a_manifest_the_current_object_is_read(self):
        s3 = _FakeS3({("datasets/credit/train.csv", None): b"current"})
        with mock.patch.object(contract, "_client", s3):
            self.assertEqual(contract.read_data(contract.training_contract(TRAINING), "train.csv"), b"current")

    def test_fails_when_the_manifest_does_not_list_the_file(self):
        manifest = self.manifest({"key": "datasets/credit/eval.csv", "versionId": "v1", "etag": "e", "size": 3})
        job = contract.training_contract({**TRAINING, "MLOPS_DATA_MANIFEST_URI": manifest})
        with mock.patch.object(contract, "_client", _FakeS3({})):
            with self.assertRaisesRegex(contract.ContractError, "lists no datasets/credit/train.csv"):
                contract.read_data(job, "train.csv")

    def test_fails_when_a_local_file_changed_after_the_snapshot(self):
        contract.write_bytes(self.path("data", "train.csv"), b"a,b\n1,2\n")
        manifest = self.manifest({"key": "datasets/credit/train.csv", "versionId": "v1", "etag": "e", "size": 3})
        job = contract.training_contract({**TRAINING, "MLOPS_DATA_URI": self.path("data"),
                                          "MLOPS_DATA_MANIFEST_URI": manifest})
        with self.assertRaisesRegex(contract.ContractError, "has 8 bytes, but the data version .* recorded 3"):
            contract.read_data(job, "train.csv")

    def test_fails_when_the_manifest_is_missing_or_not_json(self):
        job = contract.training_contract({**TRAINING, "MLOPS_DATA_MANIFEST_URI": self.path("none.jsonl")})
        with self.assertRaisesRegex(contract.ContractError, "which does not exist"):
            contract.read_data(job, "train.csv")
        contract.write_bytes(self.path("bad.jsonl"), b"not json\n")
        job = contract.training_contract({**TRAINING, "MLOPS_DATA_MANIFEST_URI": self.path("bad.jsonl")})
        with self.assertRaisesRegex(contract.ContractError, "line 1 is not JSON"):
            contract.read_data(job, "train.csv")
