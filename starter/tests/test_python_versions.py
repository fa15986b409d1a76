import ast
import glob
import os
import unittest

from tests import ROOT


class PythonVersionTest(unittest.TestCase):
    def test_every_file_parses_as_python_3_9(self):
        files = glob.glob(os.path.join(ROOT, "**", "*.py"), recursive=True)
        self.assertGreater(len(files), 10)
        for path in files:
            with open(path, encoding="utf-8") as file:
                ast.parse(file.read(), path, feature_version=(3, 9))
