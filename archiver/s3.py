"""S3-compatible object storage through boto3, with conditional creates."""

from __future__ import annotations

import ipaddress
import logging
import os
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, Literal, cast
from urllib.parse import urlsplit

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from .errors import ConflictError, StorageError
from .keys import check_key, check_prefix

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

logger = logging.getLogger(__name__)

# 412: the key exists. 409: a concurrent conditional write to the key is in flight; either
# way another writer got there first and the caller must re-read before trying again.
_CONFLICT_CODES = frozenset({"PreconditionFailed", "ConditionalRequestConflict"})
_MISSING_CODES = frozenset({"NoSuchKey", "NotFound", "404"})
AddressingStyle = Literal["path", "virtual", "auto"]
_ADDRESSING_STYLES = frozenset({"path", "virtual", "auto"})


def addressing_style(environ: Mapping[str, str]) -> AddressingStyle | None:
    """Return the S3 addressing style to force, or None to leave it to boto3.

    ``AWS_S3_ADDRESSING_STYLE`` wins. Otherwise a custom endpoint outside amazonaws.com gets
    path style: self-hosted servers (SeaweedFS, MinIO, Ceph) and host names such as a
    docker-compose service have no wildcard DNS for ``bucket.host``.
    """
    style = environ.get("AWS_S3_ADDRESSING_STYLE", "").strip().lower()
    if style:
        if style not in _ADDRESSING_STYLES:
            raise StorageError(
                f"AWS_S3_ADDRESSING_STYLE must be path, virtual or auto, not {style!r}"
            )
        return cast("AddressingStyle", style)
    endpoint = environ.get("AWS_ENDPOINT_URL_S3") or environ.get("AWS_ENDPOINT_URL")
    if not endpoint:
        return None
    host = (urlsplit(endpoint).hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost") or _is_ip(host):
        return "path"
    return None if host.endswith(".amazonaws.com") else "path"


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def make_client(config: Config | None = None, environ: Mapping[str, str] | None = None) -> S3Client:
    """Create an S3 client; boto3 reads endpoint, region and credentials itself.

    ``config`` is merged over the defaults (SigV4, standard retries, addressing style).
    """
    environ = os.environ if environ is None else environ
    # More pooled connections than boto3's 10: the crawler archives from a pool of threads.
    settings = Config(
        signature_version="s3v4", retries={"mode": "standard"}, max_pool_connections=32
    )
    style = addressing_style(environ)
    if style is not None:
        settings = settings.merge(Config(s3={"addressing_style": style}))
    if config is not None:
        settings = settings.merge(config)
    try:
        client = boto3.session.Session().client("s3", config=settings)
    except BotoCoreError as err:
        raise StorageError(f"cannot create the S3 client: {err}") from err
    # Last on the event botocore adds the header on (more specific events run first).
    client.meta.events.register_last("before-call.s3", _no_continue_for_small_bodies)
    return client


EXPECT_CONTINUE_MIN_BYTES = 1024 * 1024
"""botocore asks the server for ``100 Continue`` before every PUT body; below this size (as
curl does) the body goes at once, which saves a round trip per object."""


def _no_continue_for_small_bodies(params: dict[str, Any], **_kwargs: Any) -> None:
    body = params.get("body")
    headers = params.get("headers") or {}
    if "Expect" not in headers or body is None:
        return
    size = len(body) if isinstance(body, bytes | bytearray) else None
    if size is None and hasattr(body, "seek") and hasattr(body, "tell"):
        position = body.tell()
        size = body.seek(0, os.SEEK_END) - position
        body.seek(position)
    if size is not None and size < EXPECT_CONTINUE_MIN_BYTES:
        del headers["Expect"]


class S3Storage:
    """Store objects in one bucket under an optional prefix.

    With ``conditional_writes`` (the default) a create-only put sends ``If-None-Match: *``,
    which the server enforces atomically. Without it, the put checks with HEAD first: this
    narrows the window in which two writers can both create a key but does not close it.
    """

    def __init__(
        self,
        client: S3Client,
        bucket: str,
        prefix: str = "",
        *,
        conditional_writes: bool = True,
    ) -> None:
        self._client = client
        self.bucket = bucket
        self.prefix = check_prefix(prefix.strip("/") + "/") if prefix.strip("/") else ""
        self.conditional_writes = conditional_writes
        self.page_size = 1000
        """Keys per LIST request; 1000 is the most S3 returns."""

    @property
    def uri(self) -> str:
        """Return ``s3://bucket/prefix`` (no trailing slash)."""
        return f"s3://{self.bucket}/{self.prefix}".rstrip("/")

    def _object_key(self, key: str) -> str:
        return self.prefix + check_key(key)

    def _error(self, operation: str, key: str, err: Exception) -> StorageError:
        where = f"s3://{self.bucket}/{self.prefix}{key}"
        if isinstance(err, ClientError):
            error = err.response.get("Error", {})
            status = err.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            code = error.get("Code", "?")
            detail = f"{code} (HTTP {status}): {error.get('Message', '')}".rstrip(": ")
            if operation == "conditional put" and (code in _CONFLICT_CODES or status == 412):
                return ConflictError(f"S3 {operation} of {where}: {detail}")
            return StorageError(f"S3 {operation} of {where} failed: {detail}")
        return StorageError(f"S3 {operation} of {where} failed: {type(err).__name__}: {err}")

    def get(self, key: str) -> bytes | None:
        """Return the object's bytes, or None if there is no such object."""
        object_key = self._object_key(key)
        try:
            response = self._client.get_object(Bucket=self.bucket, Key=object_key)
            with response["Body"] as body:
                return body.read()
        except ClientError as err:
            if _error_code(err) in _MISSING_CODES:
                return None
            raise self._error("get", key, err) from err
        except BotoCoreError as err:
            raise self._error("get", key, err) from err

    def put(
        self,
        key: str,
        data: bytes,
        *,
        content_type: str,
        content_encoding: str | None = None,
        if_none_match: bool = False,
    ) -> None:
        """Upload ``data`` in one request; S3 makes an object visible only when complete."""
        object_key = self._object_key(key)
        extra: dict[str, Any] = {}
        if content_encoding:
            extra["ContentEncoding"] = content_encoding
        if if_none_match:
            if self.conditional_writes:
                extra["IfNoneMatch"] = "*"
            elif self.exists(key):
                raise ConflictError(f"S3 put of s3://{self.bucket}/{object_key}: key exists")
        try:
            self._client.put_object(
                Bucket=self.bucket, Key=object_key, Body=data, ContentType=content_type, **extra
            )
        except (ClientError, BotoCoreError) as err:
            raise self._error("conditional put" if if_none_match else "put", key, err) from err
        logger.debug("Stored s3://%s/%s (%d bytes)", self.bucket, object_key, len(data))

    def list(self, prefix: str) -> Iterator[str]:
        """Yield keys under ``prefix`` page by page, in the order S3 returns them."""
        check_prefix(prefix)
        paginator = self._client.get_paginator("list_objects_v2")
        try:
            pages = paginator.paginate(
                Bucket=self.bucket,
                Prefix=self.prefix + prefix,
                PaginationConfig={"PageSize": self.page_size},
            )
            for page in pages:
                for item in page.get("Contents", []):
                    yield item["Key"][len(self.prefix) :]
        except (ClientError, BotoCoreError) as err:
            raise self._error("list", prefix, err) from err

    def exists(self, key: str) -> bool:
        """Return whether an object is stored under ``key`` (one HEAD request)."""
        object_key = self._object_key(key)
        try:
            self._client.head_object(Bucket=self.bucket, Key=object_key)
        except ClientError as err:
            if _error_code(err) in _MISSING_CODES:
                return False
            raise self._error("head", key, err) from err
        except BotoCoreError as err:
            raise self._error("head", key, err) from err
        return True

    def delete(self, key: str) -> None:
        """Remove the object under ``key``; S3 treats a missing object as deleted."""
        object_key = self._object_key(key)
        try:
            self._client.delete_object(Bucket=self.bucket, Key=object_key)
        except (ClientError, BotoCoreError) as err:
            raise self._error("delete", key, err) from err

    def close(self) -> None:
        """Close the client's connection pool."""
        self._client.close()


def _error_code(err: ClientError) -> str:
    return str(err.response.get("Error", {}).get("Code", ""))
