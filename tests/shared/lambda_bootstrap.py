"""Inside the emulated Lambda container: a stand-in for Lambda's Python runtime loop.

tests/shared/test_lambda_emulation.py starts it as `python -I -S -B lambda_bootstrap.py TASK_ROOT RUNTIME_DIR
[--read-only-except DIR]`, so only the standard library is importable, then puts on sys.path what Lambda's
python3.11 runtime does: the unzipped deployment package first (/var/task), then the libraries the runtime
itself provides (boto3, botocore and their dependencies, which the package does not carry).

With --read-only-except (the test runs it inside `unshare --mount` as root), every mounted filesystem becomes
read-only for this process but DIR, which plays Lambda's /tmp.

Then it reads one invocation per line on stdin, {"handler": "module.attr", "event": {...}}, calls the handler
as Lambda does, `handler(event, context)`, and answers one line: {"result": ...} or Lambda's error shape
{"errorType", "errorMessage", "stackTrace"}. Answers go to the original stdout; the handler's own prints and logs
go to stderr (Lambda sends both to CloudWatch).
"""

import importlib
import json
import os
import subprocess
import sys
import time
import traceback
import uuid


def _read_only_except(writable: str) -> None:
    subprocess.run(["mount", "--bind", writable, writable], check=True)  # its own mount: stays writable
    with open("/proc/self/mounts") as mounts:
        entries = [line.split() for line in mounts]
    for entry in entries:
        target, options = entry[1].replace("\\040", " "), entry[3].split(",")
        if target == writable or "ro" in options or target.startswith(("/proc", "/sys", "/dev")):
            continue
        subprocess.run(["mount", "-o", "remount,bind,ro", target], check=True)


class LambdaContext:
    """The attributes of the context object Lambda passes to Python handlers."""

    def __init__(self, function_name: str, memory_mb: str, timeout_seconds: float) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        region = os.environ.get("AWS_REGION", "us-east-1")
        self.invoked_function_arn = f"arn:aws:lambda:{region}:123456789012:function:{function_name}"
        self.memory_limit_in_mb = memory_mb
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = time.strftime("%Y/%m/%d/[$LATEST]") + uuid.uuid4().hex
        self.aws_request_id = ""
        self._deadline = 0.0
        self._timeout = timeout_seconds

    def start(self) -> None:
        self.aws_request_id = str(uuid.uuid4())
        self._deadline = time.monotonic() + self._timeout

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def _handler(name: str) -> object:
    module_name, _, attribute = name.rpartition(".")
    return getattr(importlib.import_module(module_name), attribute)


def main() -> None:
    task_root, runtime_dir = sys.argv[1], sys.argv[2]
    if "--read-only-except" in sys.argv:
        _read_only_except(sys.argv[sys.argv.index("--read-only-except") + 1])
    answers = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    sys.path[:0] = [task_root]
    sys.path.append(runtime_dir)
    os.chdir(task_root)
    context = LambdaContext(os.environ["AWS_LAMBDA_FUNCTION_NAME"], os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"],
                            float(os.environ.get("AWS_LAMBDA_FUNCTION_TIMEOUT", "30")))
    for line in sys.stdin:
        invocation = json.loads(line)
        context.start()
        try:
            result = _handler(invocation["handler"])(invocation["event"], context)
            answer = json.dumps({"result": result})
        except Exception as exc:
            answer = json.dumps({"errorType": type(exc).__name__, "errorMessage": str(exc),
                                 "stackTrace": traceback.format_exc()})
        answers.write(answer + "\n")


if __name__ == "__main__":
    main()
