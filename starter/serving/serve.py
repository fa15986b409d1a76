"""The serving code: SageMaker's container contract on port 8080, with the model baked into the image.

    GET  /ping         200 once the model is loaded (SageMaker's health check)
    POST /invocations  {"instances": [{"age": 41, "income": 52.0, ...}, ...]}  (application/json)
                    -> {"predictions": [{"probability": 0.31, "label": 0}, ...]}

An instance is an object with every feature of model.FEATURES, or a list of their values in that order. A request
that is not valid gets 400 with {"error": "..."} naming what is wrong; SageMaker passes it on to the caller as a
ModelError with the original status and message.

SageMaker runs the image as `docker run <image> serve`, so the Dockerfile's ENTRYPOINT runs this file and the `serve`
argument is accepted and ignored. The model is read from MODEL_DIR (default /opt/ml/model, where the Dockerfile copies
it). PORT (default 8080) and HOST (default 0.0.0.0) are for running it outside a container. On SIGTERM (SageMaker
stops a container with SIGTERM, then SIGKILL 30 seconds later) it stops accepting requests and exits.
"""
from __future__ import annotations

import json
import math
import os
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import List, Optional

from model import FEATURES, MODEL_FILE, Model

MAX_BODY_BYTES = 6 * 1024 * 1024  # SageMaker's largest real-time request payload is 6 MB
MAX_INSTANCES = 1000
# Three decimals are plenty for a decision, and keep responses stable across retrainings (golden responses).
DECIMALS = 3


class BadRequest(Exception):
    pass


def load_model(directory: str) -> Model:
    with open(os.path.join(directory, MODEL_FILE), encoding="utf-8") as file:
        return Model.from_dict(json.load(file))


def parse_instance(instance: object, at: str) -> List[float]:
    if isinstance(instance, dict):
        missing = [name for name in FEATURES if name not in instance]
        if missing:
            raise BadRequest(f"{at} has no {', '.join(missing)} (an instance needs {', '.join(FEATURES)})")
        values = [instance[name] for name in FEATURES]
    elif isinstance(instance, list):
        if len(instance) != len(FEATURES):
            raise BadRequest(f"{at} has {len(instance)} values, expected {len(FEATURES)} ({', '.join(FEATURES)})")
        values = instance
    else:
        raise BadRequest(f"{at} is not an object or a list of feature values")
    for name, value in zip(FEATURES, values):
        # bool is an int in Python: refuse it, it is no feature value.
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise BadRequest(f"{at}.{name} is {json.dumps(value)}, not a number")
    return [float(v) for v in values]


def predict(model: Model, body: bytes) -> dict:
    try:
        request = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise BadRequest(f"the body is not JSON: {error}") from None
    if not isinstance(request, dict) or not isinstance(request.get("instances"), list):
        raise BadRequest('the body must be {"instances": [...]}')
    instances = request["instances"]
    if len(instances) > MAX_INSTANCES:
        raise BadRequest(f"{len(instances)} instances, at most {MAX_INSTANCES} per request")
    predictions = []
    for i, instance in enumerate(instances):
        p = model.predict_proba(parse_instance(instance, f"instances[{i}]"))
        predictions.append({"probability": round(p, DECIMALS), "label": 1 if p >= model.threshold else 0})
    return {"predictions": predictions}


def make_handler(model: Model):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802 (the name http.server calls)
            if self.path == "/ping":
                self._reply(200, {"status": "ok"})
            else:
                self._reply(404, {"error": f"no such path: {self.path}"})

        def do_POST(self) -> None:  # noqa: N802
            if self.path != "/invocations":
                self._reply(404, {"error": f"no such path: {self.path}"})
                return
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY_BYTES:
                self._reply(413, {"error": f"the body is {length} bytes, at most {MAX_BODY_BYTES}"})
                return
            body = self.rfile.read(length)
            media = (self.headers.get("Content-Type") or "application/json").split(";")[0].strip().lower()
            if media != "application/json":
                self._reply(415, {"error": f"content type {media} is not supported: send application/json"})
                return
            try:
                self._reply(200, predict(model, body))
            except BadRequest as error:
                self._reply(400, {"error": str(error)})

        def _reply(self, status: int, value: dict) -> None:
            data = json.dumps(value).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:  # one line per request, on stderr
            sys.stderr.write(f"{self.command} {self.path} {args[1] if len(args) > 1 else ''}\n")

    return Handler


def make_server(model: Model, host: str, port: int) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer((host, port), make_handler(model))
    server.daemon_threads = True
    return server


def main(argv: Optional[List[str]] = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args not in ([], ["serve"]):
        print(f"usage: serve.py [serve] (got {' '.join(args)})", file=sys.stderr)
        return 2
    directory = os.environ.get("MODEL_DIR", "/opt/ml/model")
    model = load_model(directory)
    server = make_server(model, os.environ.get("HOST", "0.0.0.0"), int(os.environ.get("PORT", "8080")))
    # shutdown() waits for serve_forever() to return: call it from another thread.
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    host, port = server.server_address[:2]
    print(f"serving the model of {directory} on {host}:{port}", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
