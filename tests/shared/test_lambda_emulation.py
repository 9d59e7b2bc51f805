"""The packaged functions run as Lambda runs them (issue #10, point 4).

The deployment.zip `make package` builds (the session's lambda_package) is unzipped and each function of the
packaged SAM template runs in a process of its own, a warm container: `python -I -S -B` with only the package and
what Lambda's python3.11 runtime provides (boto3 and its dependencies) importable, the environment the template
gives the function plus what Lambda sets (AWS_LAMBDA_FUNCTION_NAME, ...), HOME on a read-only image and a
private directory as /tmp. Run as root, the container is also given a read-only view of every filesystem but
that /tmp (a mount namespace, `unshare --mount`); elsewhere HOME is a directory it cannot write, and either way
the test checks nothing was written under HOME.

Two settings are not Lambda's own: AWS_ENDPOINT_URL points boto3 at moto (SSM for the secrets, SQS for the
jobs queue), and TMPDIR names the container's /tmp (Lambda sets none and the app then uses /tmp itself).
API Gateway is emulated from the template too: routes from its paths, binary handling from its binary media
types (bodies base64-encoded, base64 answers decoded when the request's Accept allows it); the SQS handler gets
what Lambda's event source mapping sends (tests/fakes/sqs_event_source.py).
"""

from __future__ import annotations

import base64
import importlib.util
import json
import os
import re
import selectors
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from shared import db
from tests.conftest import jpeg_bytes, png_bytes, register_form, video_bytes
from tests.fakes.cloudinary_server import FakeCloudinary
from tests.fakes.sqs_event_source import deliver
from tests.shared.conftest import LambdaPackage

BOOTSTRAP = Path(__file__).with_name("lambda_bootstrap.py")
# What Lambda's python3.11 runtime has besides the standard library; the deployment package does not carry them.
RUNTIME_LIBRARIES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "six", "urllib3")
REGION = "us-east-1"
STAGE = "api"  # .chalice/config.json's api_gateway_stage: API Gateway puts it in front of every path
INVOKE_TIMEOUT = 60


def _can_isolate_filesystems() -> bool:
    if os.geteuid() != 0 or not shutil.which("unshare"):
        return False
    return subprocess.run(["unshare", "--mount", "--propagation", "private", "true"],
                          capture_output=True, timeout=30).returncode == 0


READ_ONLY_VIEW = _can_isolate_filesystems()


class LambdaError(Exception):
    """The function raised: Lambda's error answer."""


@dataclass
class Sandbox:
    home: Path  # the container's HOME, on Lambda's read-only image
    tmp: Path  # the container's /tmp, its only writable place


@dataclass
class Aws:
    sqs: Any
    queue_url: str
    ssm_path: str
    endpoint: str


class LambdaContainer:
    """One warm container of one function of the packaged template."""

    def __init__(self, package: LambdaPackage, template: dict[str, Any], function: str, *, refs: dict[str, Any],
                 aws: Aws, sandbox: Sandbox, runtime_dir: Path, log: Path) -> None:
        properties = template["Resources"][function]["Properties"]
        self.handler = properties["Handler"]
        self.log = log
        env = {name: value for name, value in ((n, _resolve(v, refs))
                                               for n, v in properties["Environment"]["Variables"].items())
               if value is not None}
        env.update({  # what Lambda sets in every container
            "AWS_LAMBDA_FUNCTION_NAME": f"viztube-emulated-{function}",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(properties["MemorySize"]),
            "AWS_LAMBDA_FUNCTION_TIMEOUT": str(properties["Timeout"]),
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_EXECUTION_ENV": "AWS_Lambda_python3.11",
            "AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION,
            # the function role's credentials (moto accepts any)
            "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing",
            "LAMBDA_TASK_ROOT": str(package.unzipped), "_HANDLER": self.handler,
            "LANG": "en_US.UTF-8", "TZ": ":UTC", "PATH": "/usr/local/bin:/usr/bin:/bin",
            "HOME": str(sandbox.home),
            # not Lambda's: where moto listens, and where this container's /tmp is
            "AWS_ENDPOINT_URL": aws.endpoint, "TMPDIR": str(sandbox.tmp),
        })
        command = [sys.executable, "-I", "-S", "-B", str(BOOTSTRAP), str(package.unzipped), str(runtime_dir)]
        if READ_ONLY_VIEW:
            command = ["unshare", "--mount", "--propagation", "private", "--", *command,
                       "--read-only-except", str(sandbox.tmp)]
        with open(log, "ab") as errors:
            self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errors,
                                            env=env, text=True)
        self._selector = selectors.DefaultSelector()
        self._selector.register(self.process.stdout, selectors.EVENT_READ)

    def invoke(self, event: dict[str, Any]) -> Any:
        assert self.process.stdin and self.process.stdout
        self.process.stdin.write(json.dumps({"handler": self.handler, "event": event}) + "\n")
        self.process.stdin.flush()
        if not self._selector.select(timeout=INVOKE_TIMEOUT):
            raise TimeoutError(f"{self.handler} did not answer in {INVOKE_TIMEOUT}s: {self.log.read_text()[-3000:]}")
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the container of {self.handler} exited: {self.log.read_text()[-3000:]}")
        answer = json.loads(line)
        if "errorType" in answer:
            raise LambdaError(f"{answer['errorType']}: {answer['errorMessage']}\n{answer['stackTrace']}")
        return answer["result"]

    def stop(self) -> None:
        self._selector.close()
        if self.process.stdin:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        if self.process.stdout:
            self.process.stdout.close()


def _resolve(value: Any, refs: dict[str, Any]) -> Any:
    """A template value as CloudFormation resolves it (the few intrinsics function environments use here)."""
    if isinstance(value, str):
        return value
    if set(value) == {"Ref"}:
        return refs[value["Ref"]]
    if set(value) == {"Fn::If"}:
        condition, when_true, when_false = value["Fn::If"]
        return _resolve(when_true if refs[condition] else when_false, refs)
    raise AssertionError(f"the emulation does not resolve {value!r}")


@dataclass
class HttpAnswer:
    status: int
    headers: dict[str, str]
    body: bytes
    base64_body: bool  # what API Gateway got from the function
    log: Path  # the container's log (its stderr), to explain a failure

    def json(self) -> Any:
        return json.loads(self.body)

    def why(self) -> str:
        return f"{self.body[:1000]!r}\n--- container log ---\n{self.log.read_text()[-4000:]}"


class ApiGateway:
    """What API Gateway (REST API, Lambda proxy integration) makes of a request and of the function's answer,
    according to the packaged template: its routes and its binary media types."""

    def __init__(self, template: dict[str, Any], function: LambdaContainer) -> None:
        definition = template["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]
        self.paths: dict[str, Any] = definition["paths"]
        self.binary_types: list[str] = definition.get("x-amazon-apigateway-binary-media-types", [])
        self.function = function

    def _route(self, path: str) -> tuple[str, dict[str, str]]:
        """The most specific resource matching the path (a literal segment wins over a parameter)."""
        segments = path.strip("/").split("/")
        found: list[tuple[tuple[int, ...], str, dict[str, str]]] = []
        for resource in self.paths:
            parts = resource.strip("/").split("/")
            if len(parts) != len(segments):
                continue
            params = {p[1:-1]: s for p, s in zip(parts, segments, strict=True) if p.startswith("{")}
            if all(p.startswith("{") or p == s for p, s in zip(parts, segments, strict=True)):
                found.append((tuple(int(p.startswith("{")) for p in parts), resource, params))
        assert found, f"no route for {path} in the template"
        _, resource, params = min(found)
        return resource, params

    def _is_binary(self, media_type: str) -> bool:
        return "*/*" in self.binary_types or media_type.split(";", 1)[0].strip().lower() in self.binary_types

    def request(self, method: str, path: str, *, headers: dict[str, str] | None = None, body: bytes | None = None,
                query: dict[str, str] | None = None) -> HttpAnswer:
        resource, params = self._route(path)
        assert method.lower() in self.paths[resource], f"{method} {resource} is not in the template"
        sent = {"Host": "abc123.execute-api.us-east-1.amazonaws.com", "User-Agent": "emulated-client/1.0",
                "X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https", "X-Forwarded-Port": "443",
                "X-Amzn-Trace-Id": f"Root=1-{uuid.uuid4().hex[:8]}-{uuid.uuid4().hex[:24]}", **(headers or {})}
        encode = body is not None and self._is_binary(sent.get("Content-Type", ""))
        request_id = str(uuid.uuid4())
        event = {
            "resource": resource, "path": path, "httpMethod": method,
            "headers": sent, "multiValueHeaders": {k: [v] for k, v in sent.items()},
            "queryStringParameters": query or None,
            "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
            "pathParameters": params or None, "stageVariables": None,
            "requestContext": {
                "resourceId": "r35ou7", "resourcePath": resource, "httpMethod": method, "stage": STAGE,
                "path": f"/{STAGE}{path}", "requestId": request_id, "extendedRequestId": request_id[:16],
                "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime()),
                "requestTimeEpoch": int(time.time() * 1000), "accountId": "123456789012", "apiId": "abc123",
                "protocol": "HTTP/1.1", "domainName": sent["Host"], "domainPrefix": "abc123",
                "identity": {"sourceIp": "203.0.113.9", "userAgent": sent["User-Agent"], "caller": None,
                             "user": None, "accessKey": None, "cognitoIdentityId": None},
            },
            "body": (base64.b64encode(body).decode() if encode else body.decode()) if body is not None else None,
            "isBase64Encoded": encode,
        }
        answer = self.function.invoke(event)
        headers_out = {k: str(v) for k, v in (answer.get("headers") or {}).items()}
        for name, values in (answer.get("multiValueHeaders") or {}).items():
            headers_out[name] = ", ".join(str(v) for v in values)
        raw = answer.get("body") or ""
        # API Gateway turns a base64 answer back into bytes only if the request's first Accept type is binary.
        first_accept = (sent.get("Accept") or "").split(",")[0]
        if answer.get("isBase64Encoded") and self._is_binary(first_accept):
            data = base64.b64decode(raw)
        else:
            data = raw.encode()
        return HttpAnswer(answer["statusCode"], headers_out, data, bool(answer.get("isBase64Encoded")),
                          self.function.log)


# ---------------------------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def template(lambda_package: LambdaPackage) -> dict[str, Any]:
    return yaml.safe_load(lambda_package.template.read_text())


@pytest.fixture(scope="module")
def runtime_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """boto3 and its dependencies alone, linked from this venv: what Lambda's runtime puts on sys.path."""
    target = tmp_path_factory.mktemp("lambda-runtime")
    for name in RUNTIME_LIBRARIES:
        spec = importlib.util.find_spec(name)
        assert spec and spec.origin, name
        source = Path(spec.origin)
        source = source.parent if source.name == "__init__.py" else source
        (target / source.name).symlink_to(source)
    yield target
    shutil.rmtree(target)


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[Sandbox]:
    home, tmp = tmp_path / "home", tmp_path / "tmp"
    home.mkdir()
    tmp.mkdir()
    home.chmod(0o555)  # Lambda's image is read-only (the mount namespace makes it so for root too)
    yield Sandbox(home, tmp)
    home.chmod(0o755)
    shutil.rmtree(tmp_path, ignore_errors=True)


@pytest.fixture
def aws(moto_server: str) -> Iterator[Aws]:
    """The jobs queue, and the SSM path the functions read their secrets from (removed afterwards: moto keeps
    queues and parameters for the whole process, across its servers)."""
    import boto3

    sqs = boto3.client("sqs", endpoint_url=moto_server)
    ssm = boto3.client("ssm", endpoint_url=moto_server)
    name = f"viztube-jobs-{uuid.uuid4().hex[:8]}"
    queue_url = sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "0"})["QueueUrl"]
    ssm_path = f"/viztube/emulated-{uuid.uuid4().hex[:8]}"
    yield Aws(sqs, queue_url, ssm_path, moto_server)
    for page in ssm.get_paginator("get_parameters_by_path").paginate(Path=ssm_path, Recursive=True):
        for parameter in page["Parameters"]:
            ssm.delete_parameter(Name=parameter["Name"])
    sqs.delete_queue(QueueUrl=queue_url)


@pytest.fixture
def cloud() -> Iterator[FakeCloudinary]:
    server = FakeCloudinary().start()
    yield server
    server.stop()


@pytest.fixture
def ssm_secrets(aws: Aws, cloud: FakeCloudinary) -> None:
    """SecureStrings under the functions' path, as the runbook has them: the database, Cloudinary and the token
    secrets reach the containers only this way."""
    import boto3

    ssm = boto3.client("ssm", endpoint_url=aws.endpoint)
    values = {"ACCESS_TOKEN_SECRET": "a" * 48, "REFRESH_TOKEN_SECRET": "r" * 48, "MEDIA_URL_SECRET": "m" * 48,
              "DATABASE_URL": os.environ["DATABASE_URL"], "CLOUDINARY_URL": cloud.cloudinary_url}
    for name, value in values.items():
        ssm.put_parameter(Name=f"{aws.ssm_path}/{name}", Value=value, Type="SecureString")


@pytest.fixture
def start(lambda_package: LambdaPackage, template: dict[str, Any], aws: Aws, sandbox: Sandbox, runtime_dir: Path,
          ssm_secrets: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Start a container of a function of the template; every container is stopped at the end."""
    started: list[LambdaContainer] = []
    logs = tmp_path_factory.mktemp("lambda-logs")
    # The template's defaults: MediaStorage=cloudinary (no bucket, no heavy jobs' queue).
    refs = {"SecretsPath": aws.ssm_path, "JobsQueue": aws.queue_url, "HasSecretsArn": False, "AWS::NoValue": None,
            "MediaStorage": "cloudinary", "UsesS3": False}

    def run(function: str) -> LambdaContainer:
        container = LambdaContainer(lambda_package, template, function, refs=refs, aws=aws, sandbox=sandbox,
                                    runtime_dir=runtime_dir, log=logs / f"{function}.log")
        started.append(container)
        return container

    yield run
    for container in started:
        container.stop()
    shutil.rmtree(logs, ignore_errors=True)


@pytest.fixture
def api(template: dict[str, Any], start: Any) -> ApiGateway:
    return ApiGateway(template, start("APIHandler"))


JSON = {"Content-Type": "application/json"}


def _json(value: Any) -> bytes:
    return json.dumps(value).encode()


# ------------------------------------------------------------------------------------------------------- tests


def test_register_login_publish_like_and_the_queued_job_run_on_lambda(api, start, aws, cloud, sandbox):
    form, form_headers = register_form(username="lambdauser", email="lambda@example.com")
    registered = api.request("POST", "/api/v2/user/register", headers=form_headers, body=form)
    assert registered.status == 201, registered.why()
    assert registered.json()["data"]["avatar"].startswith("https://res.cloudinary.com/demo/image/")
    # Register mailed a verification link through the jobs queue (prod lets only verified accounts upload): the SQS
    # consumer runs the mail job and, without SMTP_URL, leaves the mail as an .eml file in Lambda's /tmp.
    jobs_function = start("RunQueuedJobs")
    mailed = deliver(aws.sqs, aws.queue_url, jobs_function.invoke)
    assert mailed is not None and mailed.response == {"batchItemFailures": []}
    [eml] = (sandbox.tmp / "viztube" / "mail").glob("*.eml")
    body = message_from_bytes(eml.read_bytes(), policy=policy.default).get_body(("plain",))
    found = re.search(r"token=([A-Za-z0-9_\-.]+)", str(body.get_content() if body else ""))
    assert found, eml.read_text()
    verified = api.request("POST", "/api/v2/user/verify-email", headers=JSON, body=_json({"token": found.group(1)}))
    assert verified.status == 200, verified.why()

    login = api.request("POST", "/api/v2/user/login", headers=JSON,
                        body=_json({"username": "lambdauser", "password": "Passw0rdX"}))
    assert login.status == 200, login.why()
    signed_in = {"Authorization": f"Bearer {login.json()['data']['accessToken']}"}

    uploads = {}
    for kind, content_type, data, filename in (("video", "video/mp4", video_bytes("mp4"), "clip.mp4"),
                                               ("thumbnail", "image/jpeg", jpeg_bytes(), "thumb.jpg")):
        signed = api.request("POST", "/api/v2/uploads", headers={**signed_in, **JSON},
                             body=_json({"kind": kind, "contentType": content_type, "size": len(data)}))
        assert signed.status == 201, signed.why()
        target = signed.json()["data"]
        sent = requests.post(target["url"], data=target["fields"], files={"file": (filename, data)}, timeout=30)
        assert sent.status_code == 200, sent.text
        uploads[kind] = target["uploadId"]
    published = api.request("POST", "/api/v2/videos", headers={**signed_in, **JSON}, body=_json({
        "title": "Made on Lambda", "description": "direct upload", "videoUploadId": uploads["video"],
        "thumbnailUploadId": uploads["thumbnail"]}))
    assert published.status == 200, published.why()
    video_id = published.json()["data"]["video"]["id"]

    liked = api.request("POST", f"/api/v2/likes/toggle/v/{video_id}", headers=signed_in)
    assert liked.status == 200, liked.why()
    assert liked.json()["data"] == {"liked": True}

    # The job the publish announced, through the SQS consumer as Lambda's event source mapping runs it.
    delivery = deliver(aws.sqs, aws.queue_url, jobs_function.invoke)
    assert delivery is not None, "publishing announced no job on the queue"
    assert delivery.response == {"batchItemFailures": []}
    assert deliver(aws.sqs, aws.queue_url, jobs_function.invoke, wait_seconds=0) is None  # deleted, none left
    assert db.fetch_value("SELECT count(*) FROM jobs WHERE status <> 'done'") == 0
    assert db.fetch_one("SELECT processing_status::text AS status, duration FROM videos WHERE id = :id",
                        id=video_id) == {"status": "PROCESSING", "duration": 2.0}  # facts read from "Cloudinary"

    # Only Lambda's /tmp was written: the multipart register was staged there, $HOME is untouched.
    assert (sandbox.tmp / "viztube" / "staging").is_dir()
    assert list(sandbox.home.iterdir()) == []


def test_a_media_request_without_accept_gets_the_file_on_lambda(api, sandbox):
    data = png_bytes(extra=2000)
    name = f"{uuid.uuid4().hex}.png"
    folder = sandbox.tmp / "viztube" / "media" / "avatars"  # the local store of the container (its /tmp)
    folder.mkdir(parents=True)
    (folder / name).write_bytes(data)

    answer = api.request("GET", f"/api/v2/media/avatars/{name}")

    assert answer.status == 200, answer.why()
    assert answer.base64_body and answer.body == data
    assert answer.headers["Content-Type"] == "image/png"
