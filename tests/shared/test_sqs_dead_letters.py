"""A job that fails fails its SQS message (issue #10, point 4): the handler answers a partial batch response, so
SQS delivers the message again and, after the queue's maxReceiveCount, moves it to the dead-letter queue.

SQS is moto in server mode with a real redrive policy; Lambda's event source mapping is tests/fakes/sqs_event_source;
the handler runs through Chalice's test client."""

import json
import uuid

import pytest

from shared import db
from shared.settings import reset_settings
from tests.fakes.sqs_event_source import drain

MAX_RECEIVES = 2


@pytest.fixture
def queues(monkeypatch, moto_server):
    """The jobs queue with its dead-letter queue, as infra/sam/resources.yaml makes them (fewer receives, and no
    visibility timeout, so a failed message comes back at once). moto keeps queues per process, across its
    servers: these have names of their own and are removed afterwards."""
    import boto3

    from shared import aws

    sqs = boto3.client("sqs", endpoint_url=moto_server)
    name = f"viztube-jobs-{uuid.uuid4().hex[:8]}"
    dlq_url = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    queue_url = sqs.create_queue(QueueName=name, Attributes={
        "VisibilityTimeout": "0",
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": MAX_RECEIVES}),
    })["QueueUrl"]
    monkeypatch.setenv("JOBS_QUEUE_URL", queue_url)
    reset_settings()
    aws._client.cache_clear()
    yield sqs, queue_url, dlq_url
    aws._client.cache_clear()
    for url in (queue_url, dlq_url):
        sqs.delete_queue(QueueUrl=url)


def _enqueue(kind, payload):
    from shared import jobs

    with db.transaction():
        return jobs.enqueue(kind, payload)


def _job_ids(bodies):
    return sorted(json.loads(b)["jobId"] for b in bodies)


def test_failing_jobs_reach_the_dead_letter_queue_and_done_ones_are_deleted(chalice_client, queues):
    sqs, queue_url, dlq_url = queues
    # Retried later: this process stores media locally, the job names Cloudinary (job_handlers.delete_media).
    retrying = _enqueue("delete_media", {"public_id": "gone", "resource_type": "image", "storage": "cloudinary"})
    # Failed for good: a payload without what the handler needs (a KeyError is not worth retrying).
    broken = _enqueue("delete_media", {"resource_type": "image"})
    # Done: the video is gone already, nothing to do.
    fine = _enqueue("process_video", {"video_id": str(uuid.uuid4())})

    def invoke(event):
        return chalice_client.lambda_.invoke("run_queued_jobs", event).payload

    deliveries = drain(sqs, queue_url, invoke)

    by_job = {}
    for delivery in deliveries:
        (job_id,) = _job_ids(delivery.bodies)
        by_job.setdefault(job_id, []).append(delivery)
    assert [d.failed for d in by_job[str(fine)]] == [set()]
    for failing in (retrying, broken):
        assert len(by_job[str(failing)]) == MAX_RECEIVES
        assert all(d.failed == set(d.message_ids) for d in by_job[str(failing)])
        assert all(d.response == {"batchItemFailures": [{"itemIdentifier": d.message_ids[0]}]}
                   for d in by_job[str(failing)])
    dead = sqs.receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
    assert _job_ids(m["Body"] for m in dead) == sorted([str(retrying), str(broken)])
    statuses = {str(r["id"]): r["status"] for r in db.fetch_all("SELECT id, status FROM jobs")}
    assert statuses == {str(retrying): "pending", str(broken): "failed", str(fine): "done"}


def test_a_message_whose_job_cannot_be_run_is_failed_alone(chalice_client, queues, monkeypatch):
    from shared import jobs

    sqs, queue_url, _ = queues
    job_id = _enqueue("process_video", {"video_id": str(uuid.uuid4())})

    def database_down(*_args, **_kwargs):
        raise OSError("connection refused")

    monkeypatch.setattr(jobs, "run_one", database_down)
    event = chalice_client.events.generate_sqs_event(
        message_bodies=[json.dumps({"jobId": str(job_id)}), "not one of ours"], queue_name="viztube-jobs")
    event["Records"][0]["messageId"], event["Records"][1]["messageId"] = "ours", "foreign"

    payload = chalice_client.lambda_.invoke("run_queued_jobs", event).payload

    assert payload == {"batchItemFailures": [{"itemIdentifier": "ours"}]}
