"""Serverless jobs: enqueueing sends an SQS message after commit; the Chalice on_sqs_message handler runs the job.
SQS is moto in server mode (a real HTTP endpoint), the handler is invoked through Chalice's test client."""

import json
import threading
import time

import pytest

from shared import db, jobs
from shared.settings import reset_settings
from tests.conftest import jpeg_bytes, multipart, video_bytes


@pytest.fixture
def sqs(monkeypatch, moto_server):
    import boto3

    from shared import aws

    client = boto3.client("sqs", endpoint_url=moto_server)
    queue_url = client.create_queue(QueueName="viztube-jobs")["QueueUrl"]
    monkeypatch.setenv("JOBS_QUEUE_URL", queue_url)
    reset_settings()
    aws._client.cache_clear()
    yield client, queue_url
    aws._client.cache_clear()


def _drain(client, queue_url):
    messages = client.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
    for message in messages:
        client.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return [m["Body"] for m in messages]


def test_jobs_travel_through_sqs_to_the_chalice_handler(chalice_client, make_user, auth, sqs):
    sqs_client, queue_url = sqs
    headers = auth(make_user())
    body, form_headers = multipart({"title": "sqs"}, {"videoFile": ("v.mp4", video_bytes("mp4"), "video/mp4"),
                                                      "thumbnail": ("t.jpg", jpeg_bytes(), "image/jpeg")})
    video = chalice_client.http.post("/api/v2/videos", body=body,
                                     headers={**headers, **form_headers}).json_body["data"]["video"]

    handled = 0
    for _ in range(5):  # probe → transcode: each job's commit sends the next message
        bodies = _drain(sqs_client, queue_url)
        if not bodies:
            break
        event = chalice_client.events.generate_sqs_event(message_bodies=bodies, queue_name="viztube-jobs")
        chalice_client.lambda_.invoke("run_queued_jobs", event)
        handled += len(bodies)

    assert handled == 2
    status = db.fetch_value("SELECT processing_status::text FROM videos WHERE id = :id", id=video["id"])
    assert status == "COMPLETED"
    assert db.fetch_value("SELECT count(*) FROM jobs WHERE status <> 'done'") == 0


def test_a_message_is_sent_only_when_the_transaction_commits(sqs):
    from shared import jobs

    sqs_client, queue_url = sqs
    with pytest.raises(RuntimeError), db.transaction():
        jobs.enqueue("delete_media", {"public_id": "x", "resource_type": "image", "storage": "local"})
        raise RuntimeError("rolled back")

    assert _drain(sqs_client, queue_url) == []
    with db.transaction():
        job_id = jobs.enqueue("delete_media", {"public_id": "x", "resource_type": "image", "storage": "local"})
    assert [json.loads(b)["jobId"] for b in _drain(sqs_client, queue_url)] == [str(job_id)]


def test_a_foreign_message_is_dropped_while_the_batchs_job_still_runs(chalice_client, sqs):
    job_id = jobs.enqueue("delete_media", {"public_id": "avatars/gone.png", "resource_type": "image",
                                           "storage": "local"})
    event = chalice_client.events.generate_sqs_event(
        message_bodies=["not json", '{"other": 1}', '{"jobId": "not-a-uuid"}', json.dumps({"jobId": str(job_id)})],
        queue_name="viztube-jobs")

    outcome = chalice_client.lambda_.invoke("run_queued_jobs", event).payload

    # Dropped, not reported: a foreign message must never come back to poison the queue (nor reach the DLQ).
    assert outcome == {"batchItemFailures": []}
    assert db.fetch_value("SELECT status FROM jobs WHERE id = :id", id=job_id) == "done"
    assert db.fetch_value("SELECT count(*) FROM jobs") == 1


def test_with_a_heavy_jobs_queue_lambda_never_transcodes_and_a_worker_of_that_queue_does(chalice_client, make_user,
                                                                                         auth, sqs, monkeypatch):
    from infra.worker import _consume_queue

    sqs_client, queue_url = sqs
    heavy_url = sqs_client.create_queue(QueueName="viztube-heavy-jobs")["QueueUrl"]
    monkeypatch.setenv("HEAVY_JOBS_QUEUE_URL", heavy_url)
    reset_settings()
    headers = auth(make_user())
    body, form_headers = multipart({"title": "heavy"}, {"videoFile": ("v.mp4", video_bytes("mp4"), "video/mp4"),
                                                        "thumbnail": ("t.jpg", jpeg_bytes(), "image/jpeg")})
    video = chalice_client.http.post("/api/v2/videos", body=body,
                                     headers={**headers, **form_headers}).json_body["data"]["video"]

    probe = _drain(sqs_client, queue_url)  # the probe is light: Lambda's queue
    event = chalice_client.events.generate_sqs_event(message_bodies=probe, queue_name="viztube-jobs")
    chalice_client.lambda_.invoke("run_queued_jobs", event)

    assert _drain(sqs_client, queue_url) == []  # the transcode it queued went to the workers' queue instead
    transcode = db.fetch_one("SELECT id, status FROM jobs WHERE kind = 'transcode_hls'")
    assert transcode["status"] == "pending"
    assert jobs.run_pending() == 0  # what the scheduled sweep runs: never a heavy job
    assert db.fetch_value("SELECT status FROM jobs WHERE kind = 'transcode_hls'") == "pending"

    stop = threading.Event()
    worker = threading.Thread(target=_consume_queue, args=(heavy_url, stop, jobs.HEAVY_KINDS), daemon=True)
    worker.start()
    try:
        for _ in range(300):
            if db.fetch_value("SELECT status FROM jobs WHERE kind = 'transcode_hls'") == "done":
                break
            time.sleep(0.1)
    finally:
        stop.set()
        worker.join(30)
    assert db.fetch_value("SELECT processing_status::text FROM videos WHERE id = :id", id=video["id"]) == "COMPLETED"
    assert _drain(sqs_client, heavy_url) == []  # the worker deleted the message of the job it settled
