import glob
import json
import os
import tarfile
import threading
import unittest
from unittest import mock
import urllib.error
import urllib.request

import mlops_contract as contract
import serve
import train
from tests.helpers import GOLDEN_DIR, TempDirTestCase


class ServeTest(TempDirTestCase):
    """The serving code over HTTP, with a model trained on the committed data (as the Package stage bakes it in)."""

    def setUp(self):
        super().setUp()
        train.train(contract.training_contract(self.training_env(MLOPS_HYPERPARAMETERS="{}")))
        # As the Package stage unpacks model.tar.gz into the image's /opt/ml/model.
        os.makedirs(self.path("model"))
        with tarfile.open(self.path("output", "model.tar.gz")) as archive, open(self.path("model", "model.json"), "wb") as file:
            file.write(archive.extractfile("model.json").read())
        self.server = serve.make_server(serve.load_model(self.path("model")), "127.0.0.1", 0)
        thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        thread.start()
        self.addCleanup(self.server.server_close)
        self.addCleanup(self.server.shutdown)
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]

    def call(self, method, path, body=None, content_type="application/json"):
        request = urllib.request.Request(self.url + path, data=body, method=method,
                                         headers={"Content-Type": content_type} if body is not None else {})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    def test_ping(self):
        self.assertEqual(self.call("GET", "/ping"), (200, {"status": "ok"}))

    def test_every_golden_request_gets_200_and_its_expected_response(self):
        requests = [p for p in sorted(glob.glob(os.path.join(GOLDEN_DIR, "*.json"))) if not p.endswith(".expected.json")]
        self.assertGreaterEqual(len(requests), 2)
        for path in requests:
            with open(path, "rb") as file:
                status, response = self.call("POST", "/invocations", file.read())
            self.assertEqual(status, 200, path)
            expected = path[:-len(".json")] + ".expected.json"
            if os.path.exists(expected):
                with open(expected, encoding="utf-8") as file:
                    self.assertEqual(response, json.load(file), path)
            for prediction in response["predictions"]:
                self.assertTrue(0 <= prediction["probability"] <= 1)
                self.assertIn(prediction["label"], (0, 1))

    def test_bad_requests_get_4xx_with_the_reason(self):
        cases = [
            (b"{", "application/json", 400, "the body is not JSON"),
            (b'{"rows": []}', "application/json", 400, 'the body must be {"instances": [...]}'),
            (b'{"instances": [{"age": 40}]}', "application/json", 400, "instances[0] has no income"),
            (b'{"instances": [[1, 2, 3]]}', "application/json", 400, "instances[0] has 3 values, expected 5"),
            (b'{"instances": [[1, 2, "x", 4, 5]]}', "application/json", 400, 'instances[0].debt_ratio is "x", not a number'),
            (b"1,2,3,4,5", "text/csv", 415, "content type text/csv is not supported"),
        ]
        for body, content_type, status, message in cases:
            code, response = self.call("POST", "/invocations", body, content_type)
            self.assertEqual(code, status, body)
            self.assertIn(message, response["error"])
        self.assertEqual(self.call("GET", "/nowhere")[0], 404)

    def test_the_serve_argument_of_sagemaker_is_accepted(self):
        with mock.patch("sys.stderr"):
            self.assertEqual(serve.main(["train"]), 2)


if __name__ == "__main__":
    unittest.main()
