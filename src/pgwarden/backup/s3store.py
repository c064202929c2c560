"""Backups in an S3-compatible object store (``[backup] store = "s3://bucket/prefix"``).

Client: boto3 (botocore). Chosen over obstore because it gives direct control of each
multipart step (create, upload_part, complete, abort), which the checksum comparison
and the "nothing listed until complete" rule need, reads endpoint, region and keys from
the standard ``AWS_*`` variables, and is the most widely deployed S3 client (it is an
optional extra: ``pip install 'pgwarden[s3]'``).

Layout: ``<prefix>/<env>/<id>/<file>``, ``manifest.json`` uploaded last.

Guarantees:
- endpoint (``AWS_ENDPOINT_URL``), region (``AWS_REGION``/``AWS_DEFAULT_REGION``) and credentials
  (``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``) come from the environment and are never printed;
- every file is streamed in parts of :data:`PART_SIZE`, a few in flight at once (never read whole
  into memory); after the
  upload the object's ETag and size are compared with the ones computed while reading
  (md5 of the parts' md5s), and a mismatch aborts the backup;
- the manifest is written only after every file has been uploaded and checked, and only ids
  with a manifest are listed: a crash mid-upload leaves no backup listed as complete (its
  leftovers are removed by the next ``create``/``prune``);
- ``delete`` removes the manifest first, so a half-deleted backup is never listed;
- reads (verify, restore) download into a private temporary folder removed afterwards.
"""

from __future__ import annotations

import builtins
import hashlib
import json
import shutil
import tempfile
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager, suppress
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pgwarden.backup.storage import _LOCK, MANIFEST, LocalStorage, Staging, _dump
from pgwarden.errors import BadInput, PgwardenError, Unreachable

PART_SIZE = 16 * 1024 * 1024
UPLOAD_THREADS = 4  # parts in flight at once (memory: UPLOAD_THREADS x PART_SIZE)
STALE_UPLOAD = timedelta(hours=6)  # an unfinished upload older than this belongs to a dead writer


class StoreError(PgwardenError):
    """The object store refused or failed an operation (exit 1); the message names the key."""


def _client() -> Any:
    try:
        import boto3
        from botocore.config import Config as BotoConfig
    except ModuleNotFoundError:
        raise BadInput(
            "backup.store = s3://...: the boto3 package is not installed",
            hint="pip install 'pgwarden[s3]'",
        ) from None
    return boto3.client("s3", config=BotoConfig(s3={"addressing_style": "path"}, retries={"max_attempts": 3}))


def _translate(exc: Exception, what: str) -> PgwardenError:
    """One line for a botocore error; never includes a credential."""
    from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError

    if isinstance(exc, NoCredentialsError):
        return BadInput(f"{what}: no S3 credentials", hint="set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
    if isinstance(exc, EndpointConnectionError):
        return Unreachable(f"{what}: cannot reach the S3 endpoint", hint="check AWS_ENDPOINT_URL")
    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        return StoreError(f"{what}: {err.get('Code', 'error')}: {err.get('Message', '')}".rstrip(": "))
    return StoreError(f"{what}: {type(exc).__name__}")


def multipart_etag(part_md5s: list[bytes]) -> str:
    """The ETag S3 gives an object uploaded in these parts (md5 of the parts' md5s, dash, count)."""
    return f"{hashlib.md5(b''.join(part_md5s)).hexdigest()}-{len(part_md5s)}"  # noqa: S324 - S3's ETag


class S3Storage:
    """Published backups in S3; staging (and the optional local copy) in the local folder."""

    def __init__(self, url: str, local: LocalStorage, *, keep_local: bool = False, client: Any = None):
        bucket, _, prefix = url.removeprefix("s3://").partition("/")
        self.url = url
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.local = local
        self.keep_local = keep_local
        self._s3 = client

    @property
    def s3(self) -> Any:
        if self._s3 is None:
            self._s3 = _client()
        return self._s3

    def _key(self, env: str, backup_id: str = "", name: str = "") -> str:
        parts = [p for p in (self.prefix, env, backup_id, name) if p]
        return "/".join(parts) + ("" if name else "/")

    def _call(self, what: str, method: str, **kwargs: Any) -> Any:
        try:
            return getattr(self.s3, method)(**kwargs)
        except PgwardenError:
            raise
        except Exception as exc:  # noqa: BLE001 - botocore's errors become one line
            raise _translate(exc, what) from None

    # -- writing -------------------------------------------------------------------------
    def stage(self, env: str, backup_id: str) -> Staging:
        return self.local.stage(env, backup_id)

    def publish(self, staging: Staging) -> str:
        if not (staging.path / MANIFEST).is_file():
            raise BadInput(f"{staging.path}: no {MANIFEST}; refusing to publish an incomplete backup")
        files = sorted(p for p in staging.path.rglob("*") if p.is_file() and p.name not in (MANIFEST, _LOCK))
        for path in files:
            self.upload_file(path, self._key(staging.env, staging.id, str(path.relative_to(staging.path))))
        manifest = (staging.path / MANIFEST).read_bytes()
        self._call(
            f"upload {MANIFEST}",
            "put_object",
            Bucket=self.bucket,
            Key=self._key(staging.env, staging.id, MANIFEST),
            Body=manifest,
        )
        if self.keep_local:
            self.local.put(staging)
        else:
            self.local.discard(staging)
        return self.location(staging.env, staging.id)

    def upload_file(self, path: Path, key: str) -> str:
        """Stream ``path`` to ``key`` in parts, then compare the stored ETag and size; returns the ETag.

        Up to :data:`UPLOAD_THREADS` parts are in flight at once (memory stays bounded at that many parts).
        """
        where = f"upload s3://{self.bucket}/{key}"
        upload_id = self._call(where, "create_multipart_upload", Bucket=self.bucket, Key=key)["UploadId"]
        try:
            md5s, size, parts = self._upload_parts(path, key, upload_id, where)
            self._call(
                where,
                "complete_multipart_upload",
                Bucket=self.bucket,
                Key=key,
                UploadId=upload_id,
                MultipartUpload={"Parts": parts},
            )
        except BaseException:
            self._abort(key, upload_id)
            raise
        expected = multipart_etag(md5s)
        head = self._call(where, "head_object", Bucket=self.bucket, Key=key)
        etag = str(head.get("ETag", "")).strip('"')
        if int(head.get("ContentLength", -1)) != size or etag != expected:
            raise StoreError(
                f"{where}: checksum mismatch after upload (stored {etag}, "
                f"{head.get('ContentLength')} bytes; sent {expected}, {size} bytes)"
            )
        return etag

    def _upload_parts(
        self, path: Path, key: str, upload_id: str, where: str
    ) -> tuple[list[bytes], int, list[dict[str, Any]]]:
        """Read ``path`` part by part (md5 of each) and upload them with a few threads, in order."""
        md5s: list[bytes] = []
        pending: deque[Future[Any]] = deque()
        etags: list[str] = []
        size = 0

        def send(number: int, chunk: bytes) -> Any:
            return self._call(
                where, "upload_part", Bucket=self.bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=chunk
            )

        with ThreadPoolExecutor(max_workers=UPLOAD_THREADS) as pool, open(path, "rb") as handle:
            try:
                while True:
                    chunk = handle.read(PART_SIZE)
                    if not chunk and md5s:
                        break
                    md5s.append(hashlib.md5(chunk).digest())  # noqa: S324 - S3's ETag
                    size += len(chunk)
                    if len(pending) >= UPLOAD_THREADS:
                        etags.append(pending.popleft().result()["ETag"])
                    pending.append(pool.submit(send, len(md5s), chunk))
                    if len(chunk) < PART_SIZE:
                        break
                while pending:
                    etags.append(pending.popleft().result()["ETag"])
            except BaseException:
                for future in pending:
                    future.cancel()
                raise
        return md5s, size, [{"PartNumber": i + 1, "ETag": etag} for i, etag in enumerate(etags)]

    def _abort(self, key: str, upload_id: str) -> None:
        with suppress(Exception):  # best effort; clean_incomplete retries later
            self.s3.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)

    def discard(self, staging: Staging) -> None:
        self.local.discard(staging)

    def clean_incomplete(self, env: str) -> builtins.list[str]:
        removed = self.local.clean_incomplete(env)
        cutoff = datetime.now(UTC) - STALE_UPLOAD
        listed = self._call("list uploads", "list_multipart_uploads", Bucket=self.bucket, Prefix=self._key(env))
        for upload in listed.get("Uploads", []):
            if upload["Initiated"] < cutoff:
                self._abort(upload["Key"], upload["UploadId"])
                removed.append(upload["Key"])
        complete = set(self.list(env))
        for backup_id, newest in self._objects_by_id(env).items():
            if backup_id not in complete and newest < cutoff:
                self._delete_prefix(env, backup_id)
                removed.append(self._key(env, backup_id))
        return removed

    # -- reading -------------------------------------------------------------------------
    def _objects_by_id(self, env: str) -> dict[str, datetime]:
        """Every id with objects under ``env`` and its newest object's time."""
        out: dict[str, datetime] = {}
        for obj in self._keys(self._key(env)):
            backup_id = obj["Key"][len(self._key(env)) :].split("/", 1)[0]
            out[backup_id] = max(out.get(backup_id, obj["LastModified"]), obj["LastModified"])
        return out

    def _keys(self, prefix: str) -> Iterator[dict[str, Any]]:
        token: str | None = None
        while True:
            extra = {"ContinuationToken": token} if token else {}
            page = self._call(
                f"list s3://{self.bucket}/{prefix}", "list_objects_v2", Bucket=self.bucket, Prefix=prefix, **extra
            )
            yield from page.get("Contents", [])
            if not page.get("IsTruncated"):
                return
            token = page["NextContinuationToken"]

    def list(self, env: str) -> builtins.list[str]:
        base = self._key(env)
        return sorted(
            obj["Key"][len(base) :].split("/", 1)[0]
            for obj in self._keys(base)
            if obj["Key"].endswith("/" + MANIFEST) and obj["Key"][len(base) :].count("/") == 1
        )

    def envs(self) -> builtins.list[str]:
        base = self._key("") if self.prefix else ""
        page = self._call(
            f"list s3://{self.bucket}/{base}", "list_objects_v2", Bucket=self.bucket, Prefix=base, Delimiter="/"
        )
        return sorted(p["Prefix"][len(base) :].rstrip("/") for p in page.get("CommonPrefixes", []))

    def read_manifest(self, env: str, backup_id: str) -> dict[str, Any]:
        key = self._key(env, backup_id, MANIFEST)
        body = self._call(f"read s3://{self.bucket}/{key}", "get_object", Bucket=self.bucket, Key=key)["Body"]
        try:
            data = json.loads(body.read())
        except ValueError as exc:
            raise BadInput(f"s3://{self.bucket}/{key}: unreadable manifest: {exc}") from None
        if not isinstance(data, dict):
            raise BadInput(f"s3://{self.bucket}/{key}: manifest is not a JSON object")
        return data

    def write_manifest(self, env: str, backup_id: str, manifest: dict[str, Any]) -> None:
        key = self._key(env, backup_id, MANIFEST)
        self._call(f"write s3://{self.bucket}/{key}", "put_object", Bucket=self.bucket, Key=key, Body=_dump(manifest))
        if self.local.has(env, backup_id):
            self.local.write_manifest(env, backup_id, manifest)

    def location(self, env: str, backup_id: str) -> str:
        return f"s3://{self.bucket}/{self._key(env, backup_id)}"

    def describe(self) -> str:
        return self.url

    @contextmanager
    def _download(self, env: str, backup_id: str) -> Iterator[Path]:
        if self.local.has(env, backup_id):
            yield self.local.get(env, backup_id)
            return
        self.local.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        folder = Path(tempfile.mkdtemp(prefix=f".download-{backup_id}-", dir=self.local.root))
        try:
            base = self._key(env, backup_id)
            for obj in self._keys(base):
                target = folder / obj["Key"][len(base) :]
                target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
                where = f"download s3://{self.bucket}/{obj['Key']}"
                body = self._call(where, "get_object", Bucket=self.bucket, Key=obj["Key"])["Body"]
                with open(target, "wb") as handle:
                    for chunk in body.iter_chunks(PART_SIZE):
                        handle.write(chunk)
                target.chmod(0o600)
            yield folder
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def open_local(self, env: str, backup_id: str) -> AbstractContextManager[Path]:
        return self._download(env, backup_id)

    def delete(self, env: str, backup_id: str) -> None:
        key = self._key(env, backup_id, MANIFEST)
        self._call(f"delete s3://{self.bucket}/{key}", "delete_object", Bucket=self.bucket, Key=key)
        self._delete_prefix(env, backup_id)
        if self.local.has(env, backup_id):
            self.local.delete(env, backup_id)

    def _delete_prefix(self, env: str, backup_id: str) -> None:
        keys = [{"Key": o["Key"]} for o in self._keys(self._key(env, backup_id))]
        for start in range(0, len(keys), 1000):
            self._call(
                f"delete s3://{self.bucket}/{self._key(env, backup_id)}",
                "delete_objects",
                Bucket=self.bucket,
                Delete={"Objects": keys[start : start + 1000]},
            )
