"""Lambda's SQS event source mapping, as far as the tests need it, over a real (moto server) queue.

One `deliver` is one poll: receive up to a batch of messages, hand them to the function as the SQS event Lambda
builds, then delete the messages the function did not report in `batchItemFailures` (the mapping declares
FunctionResponseTypes: ReportBatchItemFailures). A function error, or an answer Lambda cannot read, fails the
whole batch. Messages not deleted come back after the queue's visibility timeout; SQS itself moves a message to
the dead-letter queue once it was received maxReceiveCount times.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Invoke = Callable[[dict[str, Any]], Any]


@dataclass
class Delivery:
    message_ids: list[str]
    failed: set[str]
    response: Any = None
    bodies: list[str] = field(default_factory=list)


def sqs_event(messages: list[dict[str, Any]], queue_arn: str) -> dict[str, Any]:
    """The event Lambda passes to a function for received messages (records as Lambda writes them)."""
    region = queue_arn.split(":")[3]
    return {"Records": [{
        "messageId": m["MessageId"],
        "receiptHandle": m["ReceiptHandle"],
        "body": m["Body"],
        "attributes": m.get("Attributes", {}),
        "messageAttributes": m.get("MessageAttributes", {}),
        "md5OfBody": m["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    } for m in messages]}


def _failed_ids(response: Any, message_ids: list[str]) -> set[str]:
    """Lambda's reading of a partial batch response: empty or null → all succeeded; a malformed answer or an
    unknown id → the whole batch failed."""
    if response is None or response == {}:
        return set()
    if not isinstance(response, dict) or not isinstance(response.get("batchItemFailures", []), list):
        return set(message_ids)
    failed: set[str] = set()
    for item in response.get("batchItemFailures") or []:
        identifier = item.get("itemIdentifier") if isinstance(item, dict) else None
        if identifier not in message_ids:
            return set(message_ids)
        failed.add(identifier)
    return failed


def deliver(sqs: Any, queue_url: str, invoke: Invoke, *, batch_size: int = 1, wait_seconds: int = 1) -> Delivery | None:
    """One poll of the queue; None when it had nothing to deliver."""
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=batch_size, WaitTimeSeconds=wait_seconds,
                                   AttributeNames=["All"], MessageAttributeNames=["All"]).get("Messages", [])
    if not messages:
        return None
    ids = [m["MessageId"] for m in messages]
    try:
        response = invoke(sqs_event(messages, queue_arn))
    except Exception as exc:
        response, failed = exc, set(ids)
    else:
        failed = _failed_ids(response, ids)
    for message in messages:
        if message["MessageId"] not in failed:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return Delivery(message_ids=ids, failed=failed, response=response, bodies=[m["Body"] for m in messages])


def drain(sqs: Any, queue_url: str, invoke: Invoke, *, limit: int = 20, wait_seconds: int = 1) -> list[Delivery]:
    """Poll until the queue has nothing left to deliver (or `limit` polls)."""
    deliveries: list[Delivery] = []
    while len(deliveries) < limit:
        delivery = deliver(sqs, queue_url, invoke, wait_seconds=wait_seconds)
        if delivery is None:
            break
        deliveries.append(delivery)
    return deliveries
