"""ECS Fargate for objects too large for one Lambda run: the RunTask request, the hand-off, and what to do
when a task stops.

The task runs `python -m etl.handler --bucket B --key K` from the same image. The message is acknowledged
once the task runs, so the task's end comes back as its own message: EventBridge forwards our tasks' "ECS
Task State Change" (STOPPED) events to the queue, and a task that did not finish (exit 75, no exit code,
killed) is run again, up to `fargate_max_attempts` runs; after that its message is left to fail into the DLQ.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from etl.aws.events import ObjectRef, StoppedTask, task_command
from etl.aws.log import SERVICE, logger
from etl.aws.outcome import Outcome

if TYPE_CHECKING:
    import boto3

    from etl.settings import Settings


def configured(settings: Settings) -> bool:
    return bool(settings.fargate_cluster and settings.fargate_task_definition)


def wanted(ref: ObjectRef, settings: Settings) -> bool:
    return ref.size is not None and ref.size >= settings.fargate_min_bytes and configured(settings)


def run_task_request(ref: ObjectRef, settings: Settings, container: str, attempt: int = 1) -> dict[str, Any]:
    """RunTask arguments. The client token makes a redelivered message start no second task for the same
    object and attempt; a follow-up run is a new attempt, so ECS does not hand back the stopped task."""
    token = hashlib.sha256(f"{ref.uri}|{ref.version_id}|{ref.etag}|{attempt}".encode()).hexdigest()[:64]
    return {
        "cluster": settings.fargate_cluster,
        "taskDefinition": settings.fargate_task_definition,
        "launchType": "FARGATE",
        "count": 1,
        "startedBy": SERVICE,
        "clientToken": token,
        "networkConfiguration": {
            "awsvpcConfiguration": {
                "subnets": _split(settings.fargate_subnets),
                "securityGroups": _split(settings.fargate_security_groups),
                "assignPublicIp": "DISABLED",
            }
        },
        "overrides": {"containerOverrides": [{"name": container, "command": task_command(ref, attempt)}]},
    }


def hand_off(
    ref: ObjectRef, settings: Settings, session: boto3.Session, outcome: Outcome, attempt: int = 1
) -> None:
    ecs = session.client("ecs")
    try:
        # The container is named by a setting, not looked up: DescribeTaskDefinition would be one more call
        # per object and one more permission (the function's role grants RunTask and DescribeTasks only).
        answer = ecs.run_task(**run_task_request(ref, settings, settings.fargate_container, attempt))
    except Exception as exc:
        logger.error(f"handing {ref.uri} to Fargate failed: {exc}")
        outcome.failed.append(ref)
        return
    if answer.get("failures") or not answer.get("tasks"):
        logger.error("Fargate refused the task", extra={"uri": ref.uri, "failures": answer.get("failures")})
        outcome.failed.append(ref)
        return
    task_arn = answer["tasks"][0]["taskArn"]
    logger.info(
        "handed to Fargate",
        extra={"uri": ref.uri, "task_arn": task_arn, "size": ref.size, "attempt": attempt},
    )
    outcome.handed_off.append({"uri": ref.uri, "size": ref.size, "task_arn": task_arn, "attempt": attempt})


# Exit codes of `python -m etl.handler` whose outcome is recorded (ledger, quarantine, the run summary):
# running the task again would change nothing.
FINISHED_EXITS = {0: "loaded or skipped", 1: "a file was rejected", 3: "a data test failed"}


CONFIG_EXIT = 2  # a bad setting: a new run meets it again, so the object goes to the DLQ without one


def follow_up(task: StoppedTask, settings: Settings, session: boto3.Session, outcome: Outcome) -> None:
    """What to do about a Fargate task that stopped: nothing when it finished, else run it again, or give up
    after `fargate_max_attempts` runs and leave the message to fail into the DLQ."""
    seen = {
        "uri": task.ref.uri,
        "task_arn": task.task_arn,
        "attempt": task.attempt,
        "exit_code": task.exit_code,
    }
    if task.exit_code in FINISHED_EXITS:
        logger.info(f"Fargate task finished: {FINISHED_EXITS[task.exit_code]}", extra=seen)
        outcome.stopped_tasks.append({**seen, "action": "none"})
        return
    if task.exit_code == CONFIG_EXIT:
        why = "exit code 2, a configuration error: fix the task's settings"
    else:
        why = f"exit code {task.exit_code}" if task.exit_code is not None else "no exit code"
    if (
        task.exit_code == CONFIG_EXIT
        or task.attempt >= settings.fargate_max_attempts
        or not configured(settings)
    ):
        # Reported on every delivery of the message until SQS moves it to the DLQ; counted once (its first).
        first = task.receive_count <= 1
        (logger.error if first else logger.warning)(
            f"Fargate task did not finish ({why}) after {task.attempt} run(s); giving up, its message goes to "
            "the dead-letter queue (to load the object later, copy it onto itself: a new version starts again)",
            extra={**seen, "reason": task.reason, "delivery": task.receive_count},
        )
        outcome.stopped_tasks.append({**seen, "action": "given up" if first else "given up before"})
        outcome.failed.append(task.ref)
        return
    logger.warning(
        f"Fargate task did not finish ({why}); running it again", extra={**seen, "reason": task.reason}
    )
    outcome.stopped_tasks.append({**seen, "action": "run again"})
    hand_off(task.ref, settings, session, outcome, attempt=task.attempt + 1)


def _split(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]
