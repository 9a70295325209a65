"""Where an extraction's files go: a local folder, or an S3 prefix (the raw bucket's `incoming/` on AWS).

Both have the same shape: `staging()` gives a local file to stream the CSV into, `publish()` makes it visible
under `<out>/<source>/<name>/` whole or not at all, `names()` and `remove()` let the pending increments a
new one covers be replaced. Locally the file is written beside its final name under a hidden name and
renamed. On S3 it is written to a local temporary file (Lambda's /tmp, the Fargate task's ephemeral storage)
and uploaded once: `upload_file` sends a large file in parts and S3 shows the object only when the last part
is in, so the S3 -> SQS -> Lambda path never sees half a file, and loads it like any upload.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from etl.errors import SourceDatabaseError, first_line

if TYPE_CHECKING:
    import boto3


class Destination(Protocol):
    """The folder of one extraction (`<out>/<source>/<name>/`)."""

    def staging(self) -> Path: ...

    def publish(self, staged: Path, name: str) -> tuple[Path, str]: ...

    def names(self) -> list[str]: ...

    def remove(self, name: str) -> None: ...


class LocalFolder:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def staging(self) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        return self.folder / f".extracting-{os.getpid()}.csv.partial"  # hidden: `etl run` skips it

    def publish(self, staged: Path, name: str) -> tuple[Path, str]:
        final = self.folder / name
        os.replace(staged, final)
        return final, str(final)

    def names(self) -> list[str]:
        return sorted(p.name for p in self.folder.glob("*.csv"))

    def remove(self, name: str) -> None:
        (self.folder / name).unlink()


class S3Folder:
    def __init__(self, bucket: str, prefix: str, s3: Any) -> None:
        self.bucket, self.prefix, self.s3 = bucket, prefix, s3  # prefix: "incoming/<source>/<name>/"

    def staging(self) -> Path:
        handle, name = tempfile.mkstemp(prefix="etl-extract-", suffix=".csv")
        os.close(handle)
        return Path(name)

    def publish(self, staged: Path, name: str) -> tuple[Path, str]:
        key = self.prefix + name
        try:
            self.s3.upload_file(str(staged), self.bucket, key)
        except Exception as exc:
            raise SourceDatabaseError(
                f"uploading s3://{self.bucket}/{key} failed: {first_line(exc)}", retryable=True
            ) from None
        finally:
            staged.unlink(missing_ok=True)
        return Path(key), f"s3://{self.bucket}/{key}"

    def names(self) -> list[str]:
        found: list[str] = []
        try:
            pages = self.s3.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=self.prefix, Delimiter="/"
            )
            for page in pages:
                found += [o["Key"][len(self.prefix) :] for o in page.get("Contents", [])]
        except Exception as exc:
            raise SourceDatabaseError(
                f"listing s3://{self.bucket}/{self.prefix} failed: {first_line(exc)}", retryable=True
            ) from None
        return sorted(n for n in found if n.endswith(".csv"))

    def remove(self, name: str) -> None:
        try:
            self.s3.delete_object(Bucket=self.bucket, Key=self.prefix + name)
        except Exception as exc:  # the new file is in place; the next extraction replaces this one again
            raise SourceDatabaseError(
                f"deleting the replaced increment s3://{self.bucket}/{self.prefix}{name} failed: "
                f"{first_line(exc)}",
                retryable=True,
            ) from None


def destination(out: str | Path, folder: str, *, session: boto3.Session | None = None) -> Destination:
    """The destination of an extraction writing to `folder` (`<source>/<name>`) under `out`: a local folder,
    or `s3://bucket/prefix` (the S3 client from `session`)."""
    text = str(out)
    if not text.lower().startswith("s3://"):
        return LocalFolder(Path(out) / folder)
    bucket, _, prefix = text[5:].partition("/")
    prefix = prefix.strip("/")
    import boto3

    s3 = (session or boto3.Session()).client("s3")
    return S3Folder(bucket, (f"{prefix}/" if prefix else "") + folder + "/", s3)
