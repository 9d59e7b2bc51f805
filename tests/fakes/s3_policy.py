"""The bucket policy that lets anyone read a published video's media and nobody an unpublished one's, and what moto
needs to evaluate it as S3 does.

moto 5.2.5 evaluates a bucket policy's conditions with no request context: an `s3:ExistingObjectTag/<key>`
condition never sees the object's tags, and any statement whose condition fails counts as an explicit Deny (which
would refuse even presigned and signed requests). AWS's rule is that such a statement does not apply. `install`
teaches the moto server running in this process that rule for object reads: the object's own tags are the
condition's values, an Allow whose condition fails grants nothing, a HEAD is a read (s3:GetObject), and an object a
multipart upload made has the default (private) ACL, as on S3. Only the StringEquals operator is needed (and
supported) here."""

from __future__ import annotations

import json
from typing import Any

PUBLIC_TAG = "visibility"


def public_media_policy(bucket: str) -> dict[str, Any]:
    """Anonymous GetObject only for objects tagged visibility=public (README, Playback)."""
    return {"Version": "2012-10-17", "Statement": [{
        "Sid": "PublishedMediaOnly", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{bucket}/*",
        "Condition": {"StringEquals": {f"s3:ExistingObjectTag/{PUBLIC_TAG}": "public"}}}]}


def _conditions_met(conditions: dict[str, Any] | None, values: dict[str, str]) -> bool:
    for operator, tests in (conditions or {}).items():
        if operator != "StringEquals":
            # A policy this fake cannot evaluate must stop the test, never be judged wrongly (S3 itself knows many).
            raise ValueError(f"tests/fakes/s3_policy.py evaluates StringEquals conditions only, not {operator}")
        for key, expected in tests.items():
            if values.get(key) not in (expected if isinstance(expected, list) else [expected]):
                return False
    return True


def install(monkeypatch: Any) -> None:
    from moto.iam.access_control import IAMPolicyStatement, PermissionResult
    from moto.s3.models import FakeBucket, FakeKey, get_canned_acl, s3_backends

    def get_permission(self: Any, action: str, resource: str) -> PermissionResult:
        if self.policy is None:
            return PermissionResult.NEUTRAL
        action = "s3:GetObject" if action == "s3:HeadObject" else action
        key = self.keys.get(resource.split(":::", 1)[1].partition("/")[2])
        tags = s3_backends[self.account_id][self.partition].tagger.get_tag_dict_for_resource(key.arn) if key else {}
        values = {f"s3:ExistingObjectTag/{name}": value for name, value in tags.items()}
        result = PermissionResult.NEUTRAL
        for statement in json.loads(self.policy)["Statement"]:
            if not _conditions_met(statement.get("Condition"), values):
                continue  # the statement does not apply to this request
            verdict = IAMPolicyStatement({k: v for k, v in statement.items() if k != "Condition"}
                                         ).is_action_permitted(action, resource)
            if verdict == PermissionResult.DENIED:
                return verdict
            if verdict == PermissionResult.PERMITTED:
                result = verdict
        return result

    monkeypatch.setattr(FakeBucket, "get_permission", get_permission)
    # An object made by a multipart upload gets no ACL in moto, which then lets anyone read it; on S3 an object
    # without an explicit ACL has the default one, private.
    real_set_acl = FakeKey.set_acl
    monkeypatch.setattr(FakeKey, "set_acl", lambda self, acl: real_set_acl(self, acl or get_canned_acl("private")))
