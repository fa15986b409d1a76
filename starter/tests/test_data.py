import importlib.util
import os
import unittest

import mlops_contract as contract
from tests.helpers import DATA_DIR, TempDirTestCase
from validate_data import COLUMNS, main, validate, validate_rows


def load_generator():
    spec = importlib.util.spec_from_file_location("make_dataset", os.path.join(DATA_DIR, "make_dataset.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def row(**values):
    base = {"id": "app-1", "group": "a", "age": "40", "income": "50.5", "debt_ratio": "0.3", "tenure_months": "12",
            "late_payments": "1", "default": "0"}
    base.update(values)
    return base


class CommittedDataTest(unittest.TestCase):
    def test_the_committed_data_is_valid(self):
        self.assertEqual(validate(DATA_DIR), [])

    def test_the_script_writes_the_committed_files_byte_for_byte(self):
        for name, content in load_generator().files().items():
            with open(os.path.join(DATA_DIR, name), encoding="utf-8", newline="") as file:
                self.assertEqual(file.read(), content, f"data/{name} differs from what data/make_dataset.py writes")


class ValidationTest(TempDirTestCase):
    def valid_rows(self):
        return [row(id=f"app-{i}", group="ab"[i % 2], default=str((i // 2) % 2)) for i in range(60)]

    def test_valid_rows_pass(self):
        self.assertEqual(validate_rows(self.valid_rows(), "t.csv"), [])

    def test_each_problem_names_the_file_line_and_column(self):
        rows = self.valid_rows()
        rows[0] = row(id="app-0", income="lots")
        rows[1] = row(id="app-0", debt_ratio="1.5")
        rows[2] = row(id="app-2", age="40.5", group="c", default="yes")
        problems = validate_rows(rows, "t.csv")
        self.assertIn("t.csv line 2: income is 'lots', not a number", problems)
        self.assertIn("t.csv line 3: id 'app-0' appears twice", problems)
        self.assertIn("t.csv line 3: debt_ratio is 1.5, outside 0.0..1.0", problems)
        self.assertIn("t.csv line 4: age is 40.5, not a whole number", problems)
        self.assertIn("t.csv line 4: group is 'c', not one of a, b", problems)
        self.assertIn("t.csv line 4: default is 'yes', not 0 or 1", problems)

    def test_fails_when_a_column_is_missing(self):
        rows = [{k: v for k, v in row().items() if k != "income"}]
        self.assertEqual(validate_rows(rows, "t.csv"),
                         [f"t.csv: the columns are id,group,age,debt_ratio,tenure_months,late_payments,default, "
                          f"expected {','.join(COLUMNS)}"])

    def test_fails_when_a_group_has_one_label_only(self):
        rows = [r for r in self.valid_rows() if not (r["group"] == "b" and r["default"] == "1")]
        self.assertIn("t.csv: group 'b' has labels ['0'], needs both 0 and 1", validate_rows(rows, "t.csv"))

    def test_the_command_fails_on_a_missing_file(self):
        contract.write_bytes(self.path("data", "train.csv"), b"id\n")
        self.assertEqual(main([self.path("data")]), 1)
