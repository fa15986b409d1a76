import json
import math
import unittest

import evaluate
import mlops_contract as contract
import train
from model import read_rows
from tests.helpers import DATA_DIR, TempDirTestCase


class EvaluateTest(TempDirTestCase):
    def setUp(self):
        super().setUp()
        train.train(contract.training_contract(self.training_env()))

    def run_shard(self, index, count):
        env = {"MLOPS_DATA_URI": DATA_DIR, "MLOPS_MODEL_URI": self.path("output", "model.tar.gz"),
               "MLOPS_OUTPUT_URI": self.path("evaluation"), "MLOPS_SHARD_COUNT": str(count)}
        if count > 1:
            env["AWS_BATCH_JOB_ARRAY_INDEX"] = str(index)
        return evaluate.evaluate(contract.evaluation_contract(env))

    def test_shards_split_the_rows_without_overlap(self):
        rows = read_rows(contract.read_text(contract.join(DATA_DIR, "evaluation.csv")))
        shards = [evaluate.shard_rows(rows, i, 3) for i in range(3)]
        ids = [row["id"] for shard in shards for row in shard]
        self.assertEqual(sorted(ids), sorted(row["id"] for row in rows))
        self.assertEqual([len(s) for s in shards], [67, 67, 66])

    def test_writes_the_metrics_file_the_workflow_aggregates(self):
        written = [self.run_shard(i, 2) for i in range(2)]
        for index, result in enumerate(written):
            with open(self.path("evaluation", f"metrics-{index}.json"), encoding="utf-8") as file:
                self.assertEqual(json.load(file), result)
            self.assertEqual(result["count"], 100)
            self.assertEqual(sorted(result["slices"]), ["group=a", "group=b"])
            for metrics in [result["metrics"], *result["slices"].values()]:
                self.assertIn("auc", metrics)
                self.assertTrue(all(isinstance(v, float) and math.isfinite(v) for v in metrics.values()))
            latency = result["latencyMs"]
            self.assertTrue(0 <= latency["p50"] <= latency["p95"] <= latency["p99"])

    def test_one_shard_reads_no_array_index(self):
        self.assertEqual(self.run_shard(0, 1)["count"], 200)

    def test_nearest_rank(self):
        self.assertEqual(evaluate.nearest_rank([5, 1, 4, 2, 3], 50), 3)
        self.assertEqual(evaluate.nearest_rank(list(range(1, 101)), 95), 95)
        self.assertEqual(evaluate.nearest_rank([7], 99), 7)

    def test_fails_on_an_empty_shard(self):
        env = {"MLOPS_DATA_URI": DATA_DIR, "MLOPS_MODEL_URI": self.path("output", "model.tar.gz"),
               "MLOPS_OUTPUT_URI": self.path("evaluation"), "MLOPS_SHARD_COUNT": "500", "AWS_BATCH_JOB_ARRAY_INDEX": "499"}
        with self.assertRaisesRegex(contract.ContractError, "shard 499 of 500 is empty"):
            evaluate.evaluate(contract.evaluation_contract(env))


if __name__ == "__main__":
    unittest.main()
