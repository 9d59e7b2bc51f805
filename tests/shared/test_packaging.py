"""`chalice package` produces a Lambda zip that holds functions/ and shared/ and imports on its own, and a SAM
template whose functions, once translated as CloudFormation deploys them, each have a least-privilege role."""

import json
import os
import subprocess
import sys
import zipfile
from typing import Any

import pytest
import yaml


def test_chalice_package_contains_functions_shared_and_dependencies(lambda_package):
    out = lambda_package.out  # `chalice package --stage prod --merge-template infra/sam/resources.yaml`, once a run

    with zipfile.ZipFile(out / "deployment.zip") as archive:
        names = set(archive.namelist())
    for required in ("app.py", "functions/users.py", "functions/healthcheck.py", "shared/db.py", "shared/auth.py",
                     "shared/sql/users.py", "shared/storage/cloudinary_store.py", "pg8000/__init__.py",
                     "cloudinary/__init__.py", "chalice/app.py"):
        assert required in names, required
    assert not any(n.startswith(("pgserver/", "granian/", "tests/", "infra/")) for n in names)
    # Import the app from the unzipped package alone (no site-packages), as the Lambda runtime would; -B keeps the
    # package as built for the Lambda emulation, which runs it too.
    check = subprocess.run(
        [sys.executable, "-S", "-B", "-c", "import sys; sys.path.insert(0, sys.argv[1]); import app;"
         " print(len(app.app.routes))", str(lambda_package.unzipped)],
        capture_output=True, text=True, timeout=60, env={"PATH": os.environ["PATH"], "VIZTUBE_STAGE": "prod"})
    assert check.returncode == 0, check.stderr
    assert int(check.stdout.strip()) > 10

    template = yaml.safe_load((out / "sam.yaml").read_text())
    resources = template["Resources"]
    assert resources["JobsQueue"]["Type"] == "AWS::SQS::Queue"
    sqs_events = [e for e in resources["RunQueuedJobs"]["Properties"]["Events"].values() if e["Type"] == "SQS"]
    assert sqs_events and "viztube-jobs" in json.dumps(sqs_events[0])
    assert any(e["Type"] == "Schedule" for e in resources["SweepJobs"]["Properties"]["Events"].values())
    assert resources["APIHandler"]["Properties"]["Environment"]["Variables"]["SECRETS_SSM_PATH"] == {"Ref": "SecretsPath"}
    # The ffmpeg layer (tests/shared/test_layers.py builds it) sits beside sam.yaml after `make package`.
    assert resources["FfmpegLayer"]["Type"] == "AWS::Serverless::LayerVersion"
    assert resources["FfmpegLayer"]["Properties"]["ContentUri"] == "./ffmpeg-layer.zip"
    assert {"Ref": "FfmpegLayer"} in resources["APIHandler"]["Properties"]["Layers"]


# ------------------------------------------------------------------------- what CloudFormation really deploys


def _translated(template_text: str) -> dict[str, Any]:
    """The packaged SAM template through PyPI's aws-sam-translator (CloudFormation's own transform), with the code
    URIs that `sam deploy` replaces by its S3 uploads already replaced."""
    from samtranslator.translator.managed_policy_translator import ManagedPolicyLoader
    from samtranslator.translator.transform import transform
    from samtranslator.yaml_helper import yaml_parse

    class NoAwsManagedPolicies(ManagedPolicyLoader):
        """Looks AWS managed policy names up in IAM; the template names none, so nothing is asked of AWS."""

        def __init__(self) -> None:
            super().__init__(iam_client=None)

        def load(self) -> dict[str, str]:
            return {}

    template = yaml_parse(template_text)
    for resource in template["Resources"].values():
        for key in ("CodeUri", "ContentUri"):
            if key in resource.get("Properties", {}):
                resource["Properties"][key] = f"s3://viztube-artifacts/{key}"
    return transform(template, {}, NoAwsManagedPolicies())


def _choose(value: Any, conditions: dict[str, bool]) -> Any:
    """The template as deployed under these condition values: Fn::If resolved, AWS::NoValue removed, and resources
    (or outputs) whose Condition is false left out."""
    no_value = {"Ref": "AWS::NoValue"}
    if isinstance(value, dict):
        if set(value) == {"Fn::If"}:
            name, when_true, when_false = value["Fn::If"]
            return _choose(when_true if conditions[name] else when_false, conditions)
        # A resource's or output's Condition is a name (a policy statement's is a dict of operators).
        chosen = {k: _choose(v, conditions) for k, v in value.items()
                  if not (isinstance(v, dict) and isinstance(v.get("Condition"), str) and not conditions[v["Condition"]])}
        return {k: v for k, v in chosen.items() if v != no_value}
    if isinstance(value, list):
        return [c for c in (_choose(v, conditions) for v in value) if c != no_value]
    return value


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _permissions(resources: dict[str, Any], function: dict[str, Any]) -> dict[str, set[str]]:
    """Every action the function's role allows, with the resources it is allowed on (as JSON text)."""
    role_name = function["Properties"]["Role"]["Fn::GetAtt"][0]
    role = resources[role_name]["Properties"]
    documents = [p["PolicyDocument"] for p in role.get("Policies", [])]
    for arn in role.get("ManagedPolicyArns", []):
        documents.append(resources[arn["Ref"]]["Properties"]["PolicyDocument"])  # ours only: AWS's are ARN strings
    allowed: dict[str, set[str]] = {}
    for statement in (s for d in documents for s in d["Statement"]):
        assert statement["Effect"] == "Allow" and "NotAction" not in statement and "NotResource" not in statement
        for action in _as_list(statement["Action"]):
            allowed.setdefault(action, set()).update(json.dumps(r, sort_keys=True)
                                                     for r in _as_list(statement["Resource"]))
    return allowed


def _ref(*parts: str) -> str:
    return json.dumps({"Fn::GetAtt": list(parts)}, sort_keys=True)


SSM_PATH = {json.dumps({"Fn::Sub": "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter"
                                   "${SecretsPath}" + tail}) for tail in ("", "/*")}
OWN_SECRET = {json.dumps({"Ref": "SecretsArn"})}
VPC_ACTIONS = {"ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets",
               "ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"}


MEDIA_OBJECTS = {json.dumps({"Fn::Sub": "${MediaBucket.Arn}/*"})}
MEDIA_OBJECT_ACTIONS = {"s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload",
                        "s3:PutObjectTagging"}
MEDIA_BUCKET_ACTIONS = {"s3:ListBucket"}


def _media_access() -> dict[str, set[str]]:
    """What storing media in the bucket takes (shared/storage/s3.py), on that bucket alone."""
    return {**dict.fromkeys(MEDIA_OBJECT_ACTIONS, MEDIA_OBJECTS),
            **{a: {_ref("MediaBucket", "Arn")} for a in MEDIA_BUCKET_ACTIONS}}


def _expected(function: str, *, secret_arn: bool, vpc: bool, s3: bool = False) -> dict[str, set[str]]:
    logs = {_ref(f"{function}LogGroup", "Arn")}
    queue = {_ref("JobsQueue", "Arn")}
    expected = {"logs:CreateLogStream": logs, "logs:PutLogEvents": logs, "ssm:GetParametersByPath": SSM_PATH,
                "sqs:SendMessage": queue | ({_ref("HeavyJobsQueue", "Arn")} if s3 else set())}
    if function == "RunQueuedJobs":
        expected.update({"sqs:ReceiveMessage": queue, "sqs:DeleteMessage": queue, "sqs:GetQueueAttributes": queue})
    if s3:
        expected.update(_media_access())
    if secret_arn:
        expected["secretsmanager:GetSecretValue"] = OWN_SECRET
    if vpc:
        expected.update({action: {json.dumps("*")} for action in VPC_ACTIONS})
    return expected


def _deployed(lambda_package, monkeypatch, *, secret_arn: bool = False, vpc: bool = False, s3: bool = False,
              origins: bool = False) -> dict[str, Any]:
    """The translated template's resources as CloudFormation deploys them under these parameter choices."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")  # the translator fills in pseudo parameters
    translated = _choose(_translated(lambda_package.template.read_text()),
                         {"HasSecretsArn": secret_arn, "InVpc": vpc, "UsesS3": s3, "HasMediaOrigins": s3 and origins})
    return translated


@pytest.mark.parametrize("secret_arn,vpc,s3", [(False, False, False), (True, True, True), (False, False, True)],
                         ids=["defaults", "secret-vpc-and-s3", "s3"])
def test_every_function_gets_a_least_privilege_role_of_its_own(lambda_package, monkeypatch, secret_arn, vpc, s3):
    translated = _deployed(lambda_package, monkeypatch, secret_arn=secret_arn, vpc=vpc, s3=s3)
    resources = translated["Resources"]
    functions = {n: r for n, r in resources.items() if r["Type"] == "AWS::Lambda::Function"}

    assert set(functions) == {"APIHandler", "RunQueuedJobs", "SweepJobs"}
    assert "DefaultRole" not in resources  # Chalice's role: logs on every group, SQS on every queue
    roles = [f["Properties"]["Role"]["Fn::GetAtt"][0] for f in functions.values()]
    assert len(set(roles)) == len(roles) and all(resources[r]["Type"] == "AWS::IAM::Role" for r in roles)
    for name, function in functions.items():
        allowed = _permissions(resources, function)
        assert allowed == _expected(name, secret_arn=secret_arn, vpc=vpc, s3=s3), name
        for action, scope in allowed.items():  # only EC2's interface actions cannot be scoped
            assert action in VPC_ACTIONS or json.dumps("*") not in scope, (name, action)
        log_group = resources[f"{name}LogGroup"]["Properties"]["LogGroupName"]["Fn::Sub"]
        assert log_group == "/aws/lambda/" + function["Properties"]["FunctionName"]["Fn::Sub"]
        assert ("VpcConfig" in function["Properties"]) is vpc
        assert ("SECRETS_ARN" in function["Properties"]["Environment"]["Variables"]) is secret_arn
    assert resources["JobsQueue"]["Properties"]["QueueName"] == "viztube-jobs"
    (mapping,) = [r for r in resources.values() if r["Type"] == "AWS::Lambda::EventSourceMapping"]
    assert mapping["Properties"]["FunctionName"] == {"Ref": "RunQueuedJobs"}
    assert mapping["Properties"]["EventSourceArn"]["Fn::Sub"].endswith(":viztube-jobs")
    assert mapping["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def test_the_api_returns_binary_media_whatever_the_request_accepts(lambda_package):
    (api,) = [r for r in yaml.safe_load(lambda_package.template.read_text())["Resources"].values()
              if r["Type"] == "AWS::Serverless::Api"]

    assert api["Properties"]["DefinitionBody"]["x-amazon-apigateway-binary-media-types"] == ["*/*"]


# ------------------------------------------------------------------------- media in S3 (issue #13, point 5)


def test_with_s3_the_functions_store_media_in_a_private_bucket_behind_their_own_cdn(lambda_package, monkeypatch):
    deployed = _deployed(lambda_package, monkeypatch, s3=True, origins=True)
    resources = deployed["Resources"]
    bucket = resources["MediaBucket"]["Properties"]

    assert bucket["PublicAccessBlockConfiguration"] == {"BlockPublicAcls": True, "BlockPublicPolicy": True,
                                                        "IgnorePublicAcls": True, "RestrictPublicBuckets": True}
    assert bucket["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]  # no ACLs at all
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
    assert resources["MediaBucket"]["DeletionPolicy"] == "Retain"
    (abort,) = bucket["LifecycleConfiguration"]["Rules"]
    assert abort["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"] >= 2  # a resumable upload lives 24 h+
    # Browsers PUT direct uploads (and read presigned media) from the front ends only, never from anywhere.
    rules = {rule["Id"]: rule for rule in bucket["CorsConfiguration"]["CorsRules"]}
    assert all(rule["AllowedOrigins"] == {"Ref": "MediaCorsOrigins"} for rule in rules.values())
    assert rules["direct-uploads"]["AllowedMethods"] == ["PUT"] and "ETag" in rules["direct-uploads"]["ExposedHeaders"]
    assert set(rules["presigned-media"]["AllowedMethods"]) == {"GET", "HEAD"}

    # The bucket's own policy: TLS only, and the one anonymous-looking reader is this stack's CloudFront distribution.
    statements = {s["Sid"]: s for s in resources["MediaBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]}
    assert set(statements) == {"TlsOnly", "CdnReadsPublicMedia"}
    assert statements["TlsOnly"]["Effect"] == "Deny"
    assert statements["TlsOnly"]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    cdn = statements["CdnReadsPublicMedia"]
    assert cdn["Principal"] == {"Service": "cloudfront.amazonaws.com"} and cdn["Action"] == "s3:GetObject"
    assert "${MediaDistribution}" in json.dumps(cdn["Condition"]["StringEquals"]["AWS:SourceArn"])
    # Only what the store tagged public (shared/storage/s3.py VISIBILITY_TAG): never an unpublished video's media.
    from shared.storage.s3 import VISIBILITY_TAG

    assert cdn["Condition"]["StringEquals"][f"s3:ExistingObjectTag/{VISIBILITY_TAG}"] == "public"
    origin = resources["MediaDistribution"]["Properties"]["DistributionConfig"]["Origins"][0]
    assert origin["OriginAccessControlId"] == {"Fn::GetAtt": ["MediaOriginAccessControl", "Id"]}
    assert resources["MediaDistribution"]["Properties"]["DistributionConfig"]["DefaultCacheBehavior"][
        "ViewerProtocolPolicy"] == "redirect-to-https"

    # Every function runs STORAGE=s3 on that bucket, publishes through that CDN, and sends transcodes to the workers.
    for name in ("APIHandler", "RunQueuedJobs", "SweepJobs"):
        variables = resources[name]["Properties"]["Environment"]["Variables"]
        assert variables["STORAGE"] == {"Ref": "MediaStorage"}, name
        assert variables["S3_BUCKET"] == {"Ref": "MediaBucket"}, name
        assert variables["MEDIA_BASE_URL"] == {"Fn::Sub": "https://${MediaDistribution.DomainName}"}, name
        assert variables["HEAVY_JOBS_QUEUE_URL"] == {"Ref": "HeavyJobsQueue"}, name
        # Probing a video needs ffmpeg (the translator names the layer's version FfmpegLayer<hash>).
        assert any(layer["Ref"].startswith("FfmpegLayer") for layer in resources[name]["Properties"]["Layers"]), name
    heavy = resources["HeavyJobsQueue"]["Properties"]
    assert heavy["QueueName"] == "viztube-heavy-jobs" and heavy["VisibilityTimeout"] >= 900
    assert heavy["RedrivePolicy"]["deadLetterTargetArn"] == {"Fn::GetAtt": ["HeavyJobsDeadLetterQueue", "Arn"]}
    # No Lambda consumes the heavy queue: the workers do.
    mappings = [r for r in resources.values() if r["Type"] == "AWS::Lambda::EventSourceMapping"]
    assert all("viztube-heavy-jobs" not in json.dumps(m["Properties"]["EventSourceArn"]) for m in mappings)

    # What the workers' EC2 instance or ECS task role is given: the bucket, the heavy queue, their parameters.
    worker: dict[str, set[str]] = {}
    for policy in ("MediaAccessPolicy", "WorkerPolicy"):
        for statement in resources[policy]["Properties"]["PolicyDocument"]["Statement"]:
            assert statement["Effect"] == "Allow"
            for action in _as_list(statement["Action"]):
                worker.setdefault(action, set()).update(json.dumps(r, sort_keys=True)
                                                        for r in _as_list(statement["Resource"]))
    heavy_queue = {_ref("HeavyJobsQueue", "Arn")}
    assert worker == {**_media_access(), "sqs:ReceiveMessage": heavy_queue, "sqs:DeleteMessage": heavy_queue,
                      "sqs:GetQueueAttributes": heavy_queue, "sqs:SendMessage": heavy_queue | {_ref("JobsQueue", "Arn")},
                      "ssm:GetParametersByPath": SSM_PATH}
    assert {"MediaBucketName", "MediaBaseUrl", "HeavyJobsQueueUrl", "WorkerPolicyArn",
            "MediaAccessPolicyArn"} <= set(deployed["Outputs"])


def test_with_cloudinary_no_bucket_cdn_or_heavy_queue_is_made(lambda_package, monkeypatch):
    deployed = _deployed(lambda_package, monkeypatch, s3=False)
    resources = deployed["Resources"]

    assert not {"MediaBucket", "MediaBucketPolicy", "MediaDistribution", "HeavyJobsQueue", "WorkerPolicy",
                "MediaAccessPolicy"} & set(resources)
    variables = resources["APIHandler"]["Properties"]["Environment"]["Variables"]
    assert variables["STORAGE"] == {"Ref": "MediaStorage"}
    assert not {"S3_BUCKET", "MEDIA_BASE_URL", "HEAVY_JOBS_QUEUE_URL"} & set(variables)
    template = yaml.safe_load(lambda_package.template.read_text())
    assert template["Parameters"]["MediaStorage"]["Default"] == "cloudinary"  # as deployed before issue #13
    assert not {"MediaBucketName", "HeavyJobsQueueUrl", "WorkerPolicyArn"} & set(deployed["Outputs"])
