"""What several tests need: temporary directories standing in for S3 prefixes, and a job environment."""
import os
import shutil
import tempfile
import unittest
from unittest import mock

import mlops_contract as contract

from tests import ROOT

DATA_DIR = os.path.join(ROOT, "data")
GOLDEN_DIR = os.path.join(ROOT, "tests", "golden")


class TempDirTestCase(unittest.TestCase):
    def setUp(self) -> None:
        self.tmp = tempfile.mkdtemp(prefix="starter-test-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        # The jobs' progress lines: quiet in tests.
        quiet = mock.patch.object(contract, "log")
        quiet.start()
        self.addCleanup(quiet.stop)

    def path(self, *parts: str) -> str:
        return os.path.join(self.tmp, *parts)

    def training_env(self, **overrides: str) -> dict:
        env = {"MLOPS_DATA_URI": DATA_DIR, "MLOPS_OUTPUT_URI": self.path("output") + "/",
               "MLOPS_CHECKPOINT_URI": self.path("checkpoints") + "/", "MLOPS_CANDIDATE": "logreg",
               "MLOPS_HYPERPARAMETERS": '{"epochs": "6"}'}
        env.update(overrides)
        return env
