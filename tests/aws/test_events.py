"""Lambda events -> work items, on real saved events (moto and AWS documentation shapes)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from etl.aws.events import ObjectRef, ParsedEvent, UnsupportedEventError, parse_event, route_source
from tests.aws import moto_events

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "events"


def load(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    return event


# --- S3 -> SQS, saved from moto ----------------------------------------------------------------------------


def test_sqs_batch_from_moto_decodes_keys_exactly() -> None:
    parsed = parse_event(load("sqs_s3_notifications.json"))

    assert [(o.bucket, o.key, o.size) for o in parsed.objects] == [
        ("credit-risk-raw", "incoming/loan_applications/a b+c.csv", 33),
        ("credit-risk-raw", "incoming/bank_statements/dir%2Fx.csv", 18),
        ("credit-risk-raw", "incoming/repayments/\u00e9ch\u00e9ancier 2024.csv", 17),
        ("credit-risk-raw", "incoming/customer_bank_statement/Q1 (final).CSV", 20),
        ("credit-risk-raw", "incoming/loan_applications/", 0),
    ]
    assert [o.message_id for o in parsed.objects] == [
        "3bfe7a32-a652-4652-b5bc-79333922ca1a",
        "8780e3de-13f7-4336-88c2-2d2cd015f75a",
        "39352836-9825-4011-81c7-9cb4185961f0",
        "690ff5c4-15af-47c5-861a-bb9e9476fe8f",
        "c8fd831a-fb09-4659-836f-e03e2effd2aa",
    ]
    first = parsed.objects[0]
    assert first.etag == "f1eb6859439c087473107373d44bcf6b"
    assert first.version_id is None
    assert first.uri == "s3://credit-risk-raw/incoming/loan_applications/a b+c.csv"


def test_sqs_batch_acknowledges_test_event_and_ignores_removals_without_failing() -> None:
    event = load("sqs_s3_notifications.json")
    # The fixture holds moto's real TestEvent message.
    assert json.loads(event["Records"][0]["body"])["Event"] == "s3:TestEvent"

    parsed = parse_event(event)

    assert parsed.failed_messages == ()
    assert parsed.failure_reasons == ()
    assert parsed.ignored == (
        "s3:TestEvent acknowledged (bucket credit-risk-raw)",
        "ObjectRemoved:Delete ignored: s3://credit-risk-raw/incoming/loan_applications/a b+c.csv",
    )


def test_moto_encodes_keys_in_notifications_the_s3_way() -> None:
    # The raw fixture proves what is being decoded: form encoding, "/" as %2F, "%" as %25, UTF-8 bytes.
    bodies = [json.loads(r["body"]) for r in load("sqs_s3_notifications.json")["Records"][1:5]]
    raw_keys = [b["Records"][0]["s3"]["object"]["key"] for b in bodies]
    assert raw_keys == [
        "incoming%2Floan_applications%2Fa+b%2Bc.csv",
        "incoming%2Fbank_statements%2Fdir%252Fx.csv",
        "incoming%2Frepayments%2F%C3%A9ch%C3%A9ancier+2024.csv",
        "incoming%2Fcustomer_bank_statement%2FQ1+%28final%29.CSV",
    ]


def test_malformed_body_fails_only_its_message() -> None:
    event = load("sqs_s3_notifications.json")
    event["Records"][1]["body"] = '{"Records": [ not json'
    event["Records"][2]["body"] = json.dumps({"hello": "world"})
    event["Records"][3]["body"] = json.dumps({"Records": [{"eventSource": "aws:s3", "s3": {}}]})

    parsed = parse_event(event)

    assert parsed.failed_messages == (
        "3bfe7a32-a652-4652-b5bc-79333922ca1a",
        "8780e3de-13f7-4336-88c2-2d2cd015f75a",
        "39352836-9825-4011-81c7-9cb4185961f0",
    )
    assert [o.message_id for o in parsed.objects] == [
        "690ff5c4-15af-47c5-861a-bb9e9476fe8f",
        "c8fd831a-fb09-4659-836f-e03e2effd2aa",
    ]
    assert parsed.failure_reasons[0].startswith(
        "SQS message 3bfe7a32-a652-4652-b5bc-79333922ca1a: body is not JSON"
    )
    assert "neither an S3 notification" in parsed.failure_reasons[1]
    assert "s3:TestEvent acknowledged (bucket credit-risk-raw)" in parsed.ignored


def test_one_message_with_several_records_keeps_all_or_none() -> None:
    event = load("sqs_s3_notifications.json")
    bodies = [json.loads(r["body"]) for r in event["Records"][1:3]]
    merged = {"Records": bodies[0]["Records"] + bodies[1]["Records"]}
    good = {"Records": [dict(event["Records"][1], body=json.dumps(merged))]}

    parsed = parse_event(good)
    assert [o.key for o in parsed.objects] == [
        "incoming/loan_applications/a b+c.csv",
        "incoming/bank_statements/dir%2Fx.csv",
    ]
    assert {o.message_id for o in parsed.objects} == {"3bfe7a32-a652-4652-b5bc-79333922ca1a"}

    broken = copy.deepcopy(merged)
    del broken["Records"][1]["s3"]["object"]["key"]
    parsed = parse_event({"Records": [dict(event["Records"][1], body=json.dumps(broken))]})
    assert parsed.objects == ()
    assert parsed.failed_messages == ("3bfe7a32-a652-4652-b5bc-79333922ca1a",)
    assert "missing field 'key'" in parsed.failure_reasons[0]


# --- S3 -> SNS -> SQS, saved from moto ---------------------------------------------------------------------


def test_sns_envelope_inside_sqs() -> None:
    event = load("sqs_sns_s3_notifications.json")
    assert json.loads(event["Records"][1]["body"])["Type"] == "Notification"

    parsed = parse_event(event)

    assert parsed.objects == (
        ObjectRef(
            bucket="credit-risk-raw-sns",
            key="incoming/loan_applications/a b+c.csv",
            size=5,
            etag="bc9280dfc1d4e67233f138f5bbbf0951",
            version_id=None,
            message_id="bd3a8fff-9a24-48ab-bb97-6beb031770c7",
        ),
    )
    assert parsed.ignored == ("s3:TestEvent acknowledged (bucket credit-risk-raw-sns)",)
    assert parsed.failed_messages == ()


# --- direct S3 notification (powertools' s3Event.json shape) -----------------------------------------------


def test_direct_s3_notification() -> None:
    parsed = parse_event(load("s3_notification_direct.json"))

    assert parsed == ParsedEvent(
        objects=(
            ObjectRef(
                bucket="credit-risk-raw-prod",
                key="incoming/loan_applications/applications 2024-06 + late.csv",
                size=1305107,
                etag="b21b84d653bb07b05b1e6b33684dc11b",
                version_id="3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY",
                message_id=None,
            ),
            ObjectRef(
                bucket="credit-risk-raw-prod",
                key="incoming/bank_statements/stmt:2024-06.csv",
                size=52428800,
                etag="9b2cf535f27731c974343645a3985328-10",
                version_id=None,
                message_id=None,
            ),
        ),
        ignored=(),
        failed_messages=(),
    )


def test_direct_removal_is_ignored_with_a_reason() -> None:
    event = load("s3_notification_direct.json")
    event["Records"] = event["Records"][:1]
    event["Records"][0]["eventName"] = "ObjectRemoved:DeleteMarkerCreated"
    del event["Records"][0]["s3"]["object"]["size"]  # removals carry no size

    parsed = parse_event(event)

    assert parsed.objects == ()
    assert parsed.ignored == (
        "ObjectRemoved:DeleteMarkerCreated ignored: "
        "s3://credit-risk-raw-prod/incoming/loan_applications/applications 2024-06 + late.csv",
    )


# --- EventBridge --------------------------------------------------------------------------------------------


def test_eventbridge_object_created_keeps_key_verbatim() -> None:
    parsed = parse_event(load("eventbridge_object_created.json"))

    assert parsed.objects == (
        ObjectRef(
            bucket="credit-risk-raw-prod",
            key="incoming/loan_applications/a b+c 10:00.csv",  # "+" stays a plus: no URL decoding
            size=5,
            etag="b1946ac92492d2347c6235b4d2611184",
            version_id="IYV3p45BhZA1aRh3ZNBhbYEb5ZPi3mh",
            message_id=None,
        ),
    )
    assert parsed.ignored == ()


def test_eventbridge_from_moto() -> None:
    created = parse_event(load("eventbridge_object_created_moto.json"))
    assert created.objects == (
        ObjectRef(
            bucket="credit-risk-raw-eb",
            key="incoming/loan_applications/a b+c.csv",
            size=5,
            etag="bc9280dfc1d4e67233f138f5bbbf0951",  # moto spells it "eTag"
            version_id=None,  # moto says "null", S3's id for an unversioned object
            message_id=None,
        ),
    )
    tagged = parse_event(load("eventbridge_object_tags_added_moto.json"))
    assert tagged.objects == ()
    assert tagged.ignored == (
        "EventBridge 'Object Tags Added' ignored: s3://credit-risk-raw-eb/incoming/loan_applications/a b+c.csv",
    )


def test_eventbridge_forwarded_through_sqs() -> None:
    sqs_event = load("sqs_s3_notifications.json")
    record = dict(sqs_event["Records"][1], body=json.dumps(load("eventbridge_object_created.json")))

    parsed = parse_event({"Records": [record]})

    assert [(o.key, o.message_id) for o in parsed.objects] == [
        ("incoming/loan_applications/a b+c 10:00.csv", "3bfe7a32-a652-4652-b5bc-79333922ca1a")
    ]


@pytest.mark.parametrize(
    "event",
    [
        {},
        {"detail-type": "Scheduled Event", "source": "aws.events", "detail": {}},
        {"Records": [{"eventSource": "aws:dynamodb"}]},
        {"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put", "s3": {"bucket": {}}}]},
    ],
)
def test_unsupported_events_raise(event: dict[str, Any]) -> None:
    with pytest.raises(UnsupportedEventError):
        parse_event(event)


def test_sqs_record_without_message_id_is_unsupported() -> None:
    with pytest.raises(UnsupportedEventError, match="messageId"):
        parse_event({"Records": [{"eventSource": "aws:sqs", "body": "{}"}]})


# --- moto, live: the saved fixtures still describe what moto produces ---------------------------------------


def test_live_moto_events_parse_like_the_saved_ones() -> None:
    live = moto_events.generate()
    assert sorted(live) == sorted(
        [
            "sqs_s3_notifications.json",
            "sqs_sns_s3_notifications.json",
            "eventbridge_object_created_moto.json",
            "eventbridge_object_tags_added_moto.json",
        ]
    )
    for name, event in live.items():
        fresh, saved = parse_event(event), parse_event(load(name))
        assert [(o.bucket, o.key, o.size, o.etag) for o in fresh.objects] == [
            (o.bucket, o.key, o.size, o.etag) for o in saved.objects
        ], name
        assert fresh.ignored == saved.ignored, name
        assert fresh.failed_messages == saved.failed_messages == (), name


# --- route_source ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("incoming/loan_applications/a b+c.csv", "loan_applications"),
        ("incoming/loan_application/2024/06/apps.csv", "loan_applications"),
        ("incoming/Loan_Application/apps.csv", "loan_applications"),
        ("incoming/customer_bank_statement/Q1 (final).CSV", "bank_statements"),
        ("incoming/BANK_STATEMENTS/x.Csv", "bank_statements"),
        ("incoming/repayments/\u00e9ch\u00e9ancier 2024.csv", "repayments"),
        ("incoming/unknown_source/x.csv", "unknown_source"),
        ("incoming/loan_applications/", None),
        ("incoming/loan_applications/sub/", None),
        ("incoming/loan_applications/readme.txt", None),
        ("incoming/loan_applications/data.csv.gz", None),
        ("incoming/loan_applications/.csv", None),
        ("incoming/x.csv", None),
        ("incoming//x.csv", None),
        ("elsewhere/loan_applications/x.csv", None),
        ("Incoming/loan_applications/x.csv", None),
        ("loan_applications/x.csv", None),
    ],
)
def test_route_source(key: str, expected: str | None) -> None:
    assert route_source(key) == expected


def test_route_source_with_other_prefixes() -> None:
    assert route_source("raw/2024/loan_applications/x.csv", prefix="raw/2024/") == "loan_applications"
    assert route_source("raw/2024/loan_applications/x.csv", prefix="raw/2024") == "loan_applications"
    assert route_source("bank_statements/x.csv", prefix="") == "bank_statements"


# --- EventBridge "ECS Task State Change" of our Fargate tasks, forwarded to SQS ---------------------------


def _sqs(*bodies: Any) -> dict[str, Any]:
    return {
        "Records": [
            {"messageId": f"m{i}", "eventSource": "aws:sqs", "body": json.dumps(body)}
            for i, body in enumerate(bodies)
        ]
    }


def test_a_stopped_fargate_task_names_the_object_it_was_loading() -> None:
    parsed = parse_event(_sqs(load("ecs_task_stopped.json")))
    assert (parsed.objects, parsed.failed_messages) == ((), ())
    [task] = parsed.stopped_tasks
    assert task.ref == ObjectRef(
        bucket="credit-risk-prod-raw",
        key="incoming/bank_statements/2026-11 statements+fees.csv",  # as in the command: not URL-decoded
        size=None,
        etag='"9b2cf535f27731c974343645a3985328-212"',
        version_id="3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY",
        message_id="m0",
    )
    assert (task.attempt, task.exit_code, task.reason) == (1, 75, "Essential container in task exited")
    assert task.task_arn.endswith("/b99d40b3f2c84a5b8a1b5e5c86e3a43f")


def test_a_task_that_never_ran_has_no_exit_code_and_other_states_are_ignored() -> None:
    failed_to_start = load("ecs_task_stopped.json")
    detail = failed_to_start["detail"]
    del detail["containers"][0]["exitCode"]
    detail.update(stopCode="TaskFailedToStart", stoppedReason="CannotPullContainerError: pull access denied")
    running = copy.deepcopy(load("ecs_task_stopped.json"))
    running["detail"]["lastStatus"] = "RUNNING"
    parsed = parse_event(_sqs(failed_to_start, running))
    [task] = parsed.stopped_tasks
    assert (task.exit_code, task.reason) == (None, "CannotPullContainerError: pull access denied")
    assert parsed.ignored == (f"ECS task {task.task_arn} is RUNNING: only a stopped task is followed up",)


def test_the_task_command_round_trips_through_its_parser() -> None:
    from etl.aws.events import parse_task_command, task_command

    ref = ObjectRef("raw", "incoming/repayments/a b+c %2F.csv", None, '"e"', "v 1", None)
    for attempt in (1, 3):
        assert parse_task_command(task_command(ref, attempt)) == (ref, attempt)
    bare = ObjectRef("raw", "incoming/repayments/r.csv", None, None, None, "m9")
    assert parse_task_command(task_command(bare), "m9") == (bare, 1)


@pytest.mark.parametrize(
    ("command", "message"),
    [
        (["python", "-m", "other"], "was not started with python -m etl.handler"),
        (["python", "-m", "etl.handler", "--bucket"], "do not come in --name value pairs"),
        (["python", "-m", "etl.handler", "--key", "k"], "the task's --bucket is missing"),
        (
            ["python", "-m", "etl.handler", "--bucket", "b", "--key", "k", "--attempt", "x"],
            "--attempt is 'x'",
        ),
    ],
)
def test_a_stop_event_of_another_task_fails_only_its_message(command: list[str], message: str) -> None:
    event = load("ecs_task_stopped.json")
    event["detail"]["overrides"]["containerOverrides"][0]["command"] = command
    parsed = parse_event(_sqs(event, load("ecs_task_stopped.json")))
    assert parsed.failed_messages == ("m0",)
    assert message in parsed.failure_reasons[0]
    assert [t.ref.message_id for t in parsed.stopped_tasks] == ["m1"]
