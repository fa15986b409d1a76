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
