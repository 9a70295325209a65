"""Raw objects on S3 read as streams: pinned to one version, never downloaded whole."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any, BinaryIO

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from etl.errors import ConfigError, FileRejected, LakeError

READ_BUFFER_BYTES = 1 << 20
GONE = {"NoSuchKey", "NoSuchVersion", "PreconditionFailed", "404", "412"}


def split_s3_uri(uri: str) -> tuple[str, str]:
    """`s3://bucket/some/key` -> (`bucket`, `some/key`)."""
    if not uri.startswith("s3://"):
        raise ConfigError(f"not an s3:// URI: {uri!r}")
    bucket, _, key = uri[len("s3://") :].partition("/")
    if not bucket:
        raise ConfigError(f"S3 URI names no bucket: {uri!r}")
    return bucket, key


class _S3Raw(io.RawIOBase):
    """A GetObject body as a raw binary stream; wrapped in a BufferedReader so `read(n)` returns n bytes."""

    def __init__(self, body: Any) -> None:
        self.body = body

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        try:
            data = self.body.read(len(buffer))
        except (BotoCoreError, OSError) as exc:  # a dropped connection mid-object: worth a retry
            raise LakeError(f"reading the raw object failed: {exc}") from None
        n = len(data)
        buffer[:n] = data
        return n

    def close(self) -> None:
        if not self.closed:
            self.body.close()
        super().close()


def open_s3_object(
    bucket: str,
    key: str,
    *,
    version_id: str | None = None,
    etag: str | None = None,
    boto3_session: boto3.Session | None = None,
    s3_client: Any | None = None,
) -> Callable[[], BinaryIO]:
    """A callable returning a fresh streaming reader of the object from its start; nothing is downloaded whole.

    Each call is one GetObject. The version id (or else the ETag) pins the reads to the same content: the
    pipeline reads the object twice (fingerprint with its head, then the parse) and an overwrite in between must fail
    the file rather than mix two versions.

    A pinned version that is no longer the object's current one is refused (FileRejected, before any read):
    a new version of a file replaces the rows of the one before it, so an event that arrives late for an
    older version must not put that version back over the newer one (whose own event loads it).
    """
    client = s3_client or (boto3_session or boto3.Session()).client("s3")
    pinned: dict[str, str] = {}
    if version_id:
        pinned["VersionId"] = version_id
    elif etag:
        pinned["IfMatch"] = etag if etag.startswith('"') else f'"{etag}"'

    checked: list[bool] = []

    def _open() -> BinaryIO:
        if version_id and not checked:
            _refuse_an_older_version(client, bucket, key, version_id)
            checked.append(True)
        try:
            body = client.get_object(Bucket=bucket, Key=key, **pinned)["Body"]
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in GONE:  # deleted or overwritten since the event: a newer event covers the new content
                raise FileRejected(
                    f"s3://{bucket}/{key}: {code} (deleted or overwritten since the event)"
                ) from None
            raise LakeError(f"cannot read s3://{bucket}/{key}: {code or exc}") from None
        except BotoCoreError as exc:
            raise LakeError(f"cannot read s3://{bucket}/{key}: {exc}") from None
        return io.BufferedReader(_S3Raw(body), buffer_size=READ_BUFFER_BYTES)

    return _open


def _refuse_an_older_version(client: Any, bucket: str, key: str, version_id: str) -> None:
    try:
        current = client.head_object(Bucket=bucket, Key=key).get("VersionId")
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code in GONE:
            raise FileRejected(f"s3://{bucket}/{key}: {code} (deleted since the event)") from None
        raise LakeError(f"cannot read s3://{bucket}/{key}: {code or exc}") from None
    except BotoCoreError as exc:
        raise LakeError(f"cannot read s3://{bucket}/{key}: {exc}") from None
    if current and current != "null" and current != version_id:
        raise FileRejected(
            f"s3://{bucket}/{key}: version {version_id} is no longer the object's current version ({current}): "
            "a newer version was uploaded since, and its own event loads it"
        )


def read_object(uri: str, *, s3_client: Any | None = None) -> bytes:
    """A small object read whole (a profile): FileRejected-free, one ConfigError line when it cannot be."""
    bucket, key = split_s3_uri(uri)
    client = s3_client or boto3.Session().client("s3")
    try:
        body: bytes = client.get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", "")) or str(exc)
        raise ConfigError(f"cannot read {uri}: {code}") from None
    except BotoCoreError as exc:
        raise ConfigError(f"cannot read {uri}: {exc}") from None
    return body
