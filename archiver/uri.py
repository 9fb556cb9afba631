"""Parse ``ARCHIVE_URI`` and open the storage it names."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal
from urllib.parse import unquote, urlsplit

from .errors import ArchiveURIError, InvalidKeyError
from .keys import check_key
from .local import LocalStorage

if TYPE_CHECKING:
    from botocore.config import Config

    from .storage import Storage

# Bucket names as S3 allows them for new buckets: 3-63 characters, lower case, digits, dots
# and hyphens, starting and ending with a letter or digit.
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://")


@dataclass(frozen=True)
class ArchiveLocation:
    """Where an archive lives: a local folder, or an S3 bucket and prefix."""

    kind: Literal["file", "s3"]
    path: Path | None = None
    bucket: str = ""
    prefix: str = ""


def _redact(uri: str) -> str:
    # Never echo credentials someone put into the URI.
    return re.sub(r"//[^/@]*@", "//***@", uri)


def parse_archive_uri(uri: str) -> ArchiveLocation:
    """Parse a folder path, ``file:///abs/path`` or ``s3://bucket/prefix``."""
    text = uri.strip() if isinstance(uri, str) else ""
    if not text:
        raise ArchiveURIError("ARCHIVE_URI is empty")
    if "\x00" in text:
        raise ArchiveURIError("ARCHIVE_URI contains a NUL character")
    scheme = _SCHEME.match(text)
    if scheme is None:
        if text.startswith(("s3:", "file:")):
            raise ArchiveURIError(f"malformed ARCHIVE_URI {_redact(text)!r}: expected '://'")
        return ArchiveLocation("file", path=Path(text).expanduser())
    parts = urlsplit(text)
    if parts.query or parts.fragment:
        raise ArchiveURIError(f"ARCHIVE_URI {_redact(text)!r} may not have a query or fragment")
    if parts.username is not None or parts.password is not None:
        raise ArchiveURIError(
            f"ARCHIVE_URI {_redact(text)!r} may not hold credentials; use the AWS variables"
        )
    name = scheme.group(1).lower()
    if name == "file":
        if parts.netloc not in ("", "localhost"):
            raise ArchiveURIError(f"file URI {text!r} names a remote host")
        path = unquote(parts.path)
        if not path.startswith("/"):
            raise ArchiveURIError(f"file URI {text!r} must hold an absolute path")
        return ArchiveLocation("file", path=Path(path))
    if name == "s3":
        bucket = parts.netloc
        if not _BUCKET.fullmatch(bucket) or ".." in bucket:
            raise ArchiveURIError(f"s3 URI {text!r} has no valid bucket name")
        prefix = parts.path.strip("/")
        if prefix:
            try:
                check_key(prefix)
            except InvalidKeyError as err:
                raise ArchiveURIError(f"s3 URI {text!r} has an unsafe prefix: {err}") from err
        return ArchiveLocation("s3", bucket=bucket, prefix=prefix)
    raise ArchiveURIError(
        f"ARCHIVE_URI scheme {name!r} is not supported; use a folder path, file:// or s3://"
    )


def open_storage(
    uri: str, *, conditional_writes: bool = True, s3_config: Config | None = None
) -> Storage:
    """Open the storage ``uri`` names.

    ``conditional_writes=False`` is for S3 servers without ``If-None-Match`` on PUT;
    ``s3_config`` is merged over the default boto3 client configuration.
    """
    location = parse_archive_uri(uri)
    if location.path is not None:
        if location.path.exists() and not location.path.is_dir():
            raise ArchiveURIError(f"ARCHIVE_URI {uri!r} names a file, not a folder")
        return LocalStorage(location.path)
    # boto3 loads slowly; a local archive never needs it.
    from .s3 import S3Storage, make_client

    return S3Storage(
        make_client(s3_config),
        location.bucket,
        location.prefix,
        conditional_writes=conditional_writes,
    )
