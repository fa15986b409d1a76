import json
import os
import unittest
from unittest import mock

import mlops_contract as contract
import train
from model import unpack_model
from tests.helpers import TempDirTestCase


class TrainTest(TempDirTestCase):
    def run_job(self, **overrides):
        return train.train(contract.training_contract(self.training_env(**overrides)))

    def test_writes_the_model_and_its_metrics(self):
        metrics = self.run_job()
        with open(self.path("output", "metrics.json"), encoding="utf-8") as file:
            self.assertEqual(json.load(file), metrics)
        self.assertEqual(sorted(metrics["metrics"]), ["train_accuracy", "train_auc", "train_logloss"])
        self.assertEqual(metrics["count"], 600)
        self.assertEqual((metrics["training"]["startEpoch"], metrics["training"]["epochs"]), (0, 6))
        with open(self.path("output", "model.tar.gz"), "rb") as file:
            model = unpack_model(file.read())
        self.assertEqual(model.metadata["candidate"], "logreg")
        self.assertEqual(model.metadata["hyperparameters"]["epochs"], 6)

    def test_resumes_from_the_checkpoint_and_ends_where_an_uninterrupted_run_ends(self):
        # An interrupted run: its checkpoint holds epoch 3. The next attempt goes on from there to epoch 6.
        self.run_job(MLOPS_HYPERPARAMETERS='{"epochs": "3"}')
        resumed = self.run_job(AWS_BATCH_JOB_ATTEMPT="2")
        self.assertEqual((resumed["training"]["attempt"], resumed["training"]["startEpoch"]), (2, 3))
        straight = train.train(contract.training_contract(self.training_env(
            MLOPS_OUTPUT_URI=self.path("straight", "output"), MLOPS_CHECKPOINT_URI=self.path("straight", "checkpoints"))))
        self.assertEqual(straight["training"]["startEpoch"], 0)
        self.assertEqual(resumed["training"]["lossByEpoch"], straight["training"]["lossByEpoch"])
        with open(self.path("output", "model.tar.gz"), "rb") as a, open(self.path("straight", "output", "model.tar.gz"), "rb") as b:
            self.assertEqual(unpack_model(a.read()).weights, unpack_model(b.read()).weights)

    def test_fails_when_the_checkpoint_is_of_another_training(self):
        self.run_job(MLOPS_HYPERPARAMETERS='{"epochs": "1"}')
        with self.assertRaisesRegex(contract.ContractError, "belongs to another training"):
            self.run_job(MLOPS_CANDIDATE="logreg-l2")

    def test_candidates_differ_by_their_hyperparameters(self):
        self.assertEqual(train.configuration("logreg-l2", {})["l2"], 0.01)
        self.assertEqual(train.configuration("logreg", {"l2": "0.5", "epochs": "3"}),
                         {**train.CANDIDATES["logreg"], "l2": 0.5, "epochs": 3})

    def test_fails_on_an_unknown_candidate_or_hyperparameter(self):
        for candidate, overrides, message in (("xgboost", {}, "not one of logreg, logreg-l2"),
                                              ("logreg", {"depth": "3"}, "does not know"),
                                              ("logreg", {"epochs": "2.5"}, "epochs is '2.5', not a int"),
                                              ("logreg", {"learning_rate": "-1"}, "below")):
            with self.assertRaisesRegex(contract.ContractError, message):
                train.configuration(candidate, overrides)

    def test_the_local_flag_fills_in_the_rest_of_the_contract(self):
        env = {"MLOPS_HYPERPARAMETERS": '{"epochs": "2"}'}
        with mock.patch.dict(os.environ, env, clear=True):
            self.assertEqual(train.main(["--local", self.tmp]), 0)
        self.assertTrue(os.path.exists(self.path("output", "model.tar.gz")))
        self.assertTrue(os.path.exists(self.path("checkpoints", "checkpoint.json")))

    def test_a_contract_error_exits_1(self):
        with mock.patch.dict(os.environ, {}, clear=True):
            self.assertEqual(train.main([]), 1)
        self.assertIn("ERROR: MLOPS_DATA_URI is not set", contract.log.call_args.args[0])  # patched by TempDirTestCase


if __name__ == "__main__":
    unittest.main()
