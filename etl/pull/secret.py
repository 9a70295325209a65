"""A source database's URL from AWS Secrets Manager (`url_secret` of an `[[extract]]` entry).

The secret string is either the URL itself (`postgresql://user:password@host:5432/db`) or the JSON an RDS or
Aurora managed secret holds: `engine`, `host`, `port`, `username`, `password`, `dbname` (`dbname` may be
missing: PostgreSQL's default database `postgres` is used then). The user and password are percent-encoded
into the URL, so any character may be in them.

No message here ever holds the secret's value or a piece of it: a secret that cannot be read is named by
its id only, and a malformed JSON by the keys it lacks.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from etl.errors import ConfigError, SourceDatabaseError

if TYPE_CHECKING:
    import boto3

# RDS's engine names (and the schemes people write) -> the URL scheme of the source readers.
_SCHEMES = {
    "postgres": "postgresql",
    "postgresql": "postgresql",
    "aurora-postgresql": "postgresql",
    "mysql": "mysql",
    "mariadb": "mysql",
    "aurora-mysql": "mysql",
    "aurora": "mysql",
}
_DEFAULT_PORTS = {"postgresql": 5432, "mysql": 3306}
# Errors of GetSecretValue only a change of the secret or of the role's permissions can fix.
_NOT_RETRYABLE = {
    "ResourceNotFoundException",
    "AccessDeniedException",
    "AccessDeniedFault",
    "InvalidParameterException",
    "InvalidRequestException",
    "DecryptionFailure",
}


def url_from_secret(name: str, secret_id: str, *, session: boto3.Session | None = None) -> str:
    """The database URL the secret `secret_id` (an ARN or a name) holds, for extraction `name`.

    ConfigError when the secret does not exist, may not be read or holds neither form; SourceDatabaseError
    (retryable) when Secrets Manager could not be reached."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    client = (session or boto3.Session()).client("secretsmanager")
    where = f"extraction {name}: secret {secret_id} (url_secret)"
    try:
        answer = client.get_secret_value(SecretId=secret_id)
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code in _NOT_RETRYABLE:
            why = "does not exist" if code == "ResourceNotFoundException" else f"cannot be read ({code})"
            raise ConfigError(f"{where} {why}") from None
        raise SourceDatabaseError(f"{where} cannot be read now ({code or 'error'})", retryable=True) from None
    except BotoCoreError as exc:
        raise SourceDatabaseError(
            f"{where} cannot be read now ({type(exc).__name__})", retryable=True
        ) from None
    text = answer.get("SecretString")
    if not isinstance(text, str) or not text.strip():
        raise ConfigError(f"{where} has no text value (a binary secret?): store the URL or RDS's JSON")
    return secret_url(text, where)


def secret_url(text: str, where: str) -> str:
    """The URL a secret's text holds: the text itself when it is a URL, else built from RDS's JSON keys."""
    text = text.strip()
    if not text.startswith("{"):
        if "://" not in text:
            raise ConfigError(f"{where} holds neither a URL (scheme://...) nor JSON with host and password")
        return text
    try:
        fields: Any = json.loads(text)
    except ValueError:
        raise ConfigError(f"{where} is not valid JSON") from None
    if not isinstance(fields, dict):
        raise ConfigError(f"{where} is JSON but not an object of RDS's keys")
    missing = [k for k in ("engine", "host", "username", "password") if not _text(fields.get(k))]
    if missing:
        raise ConfigError(
            f"{where} lacks {', '.join(missing)} (RDS's JSON: engine, host, port, username, password, dbname)"
        )
    engine = _text(fields["engine"]).lower()
    scheme = _SCHEMES.get(engine)
    if scheme is None:
        raise ConfigError(f"{where}: engine {engine!r} is not one of {', '.join(sorted(_SCHEMES))}")
    port = fields.get("port", _DEFAULT_PORTS[scheme])
    if isinstance(port, str) and port.strip().isdigit():
        port = int(port)
    if not isinstance(port, int) or isinstance(port, bool) or not 0 < port < 65536:
        raise ConfigError(f"{where}: port is not a TCP port number")
    database = _text(fields.get("dbname")) or ("postgres" if scheme == "postgresql" else "")
    user, password = quote(_text(fields["username"]), safe=""), quote(str(fields["password"]), safe="")
    host = _text(fields["host"])
    return f"{scheme}://{user}:{password}@{host}:{port}/{quote(database, safe='')}"


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""
