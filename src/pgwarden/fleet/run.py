"""A fleet run: one per-database command over every target, in parallel, in waves, resumable.

Guarantees:
- Each target gets the full single-database guarantees of the command (its own runner lock,
  lock-timeout retries, exactly-once history, the safety policy); the fleet adds no shortcut.
- At most ``parallel`` targets run at once; a wave starts only when the one before ended with at
  most ``max_failures`` failed targets (``stop_on_error`` is ``max_failures = 0`` inside a wave too:
  no new target starts after the first failure).
- The outcome of every target is written to ``.pgwarden/fleet/last-run.json`` as soon as it ends
  (atomically), so a run killed part-way can be resumed: ``resume`` runs only the targets that did
  not end ``ok`` (failed, skipped, or never started).
"""

from __future__ import annotations

import dataclasses
import json
import os
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pgwarden.config import Config, Environment
from pgwarden.errors import BadInput, PgwardenError
from pgwarden.fleet.settings import FleetSettings, Target, load
from pgwarden.redact import redact

STATE_FILE = Path("fleet") / "last-run.json"
ENV_PREFIX = "fleet_"


@dataclass
class TargetOutcome:
    """How one target ended: ``ok``, ``failed``, ``skipped`` (not started) or ``pending`` (never reached)."""

    name: str
    status: str = "pending"
    detail: str = ""
    exit_code: int = 0
    seconds: float = 0.0
    version: str | None = None
    applied: int = 0


@dataclass
class FleetResult:
    """Every target's outcome and the counts; ``exit_code`` 0 all ok, 1 some failed or were skipped."""

    run_id: str
    command: str
    parallel: int
    seconds: float
    targets: list[TargetOutcome] = field(default_factory=list)
    waves: list[int] = field(default_factory=list)
    resumed: bool = False

    @property
    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for t in self.targets:
            out[t.status] = out.get(t.status, 0) + 1
        return out

    @property
    def exit_code(self) -> int:
        return 0 if all(t.status == "ok" for t in self.targets) else 1


Work = Callable[[Config, str], TargetOutcome]


def parse_waves(text: str | None, total: int) -> list[int]:
    """Cumulative target counts per wave: ``"1,5%,25%,100%"`` of 200 targets -> [1, 10, 50, 200]."""
    if not text:
        return [total]
    sizes = []
    for part in text.split(","):
        part = part.strip()
        try:
            size = int(total * float(part[:-1]) / 100 + 0.999999) if part.endswith("%") else int(part)
        except ValueError:
            raise BadInput(f"--waves {text!r}: write counts or percentages, e.g. 1,5%,25%,100%") from None
        if size < 1:
            raise BadInput(f"--waves {text!r}: each wave needs at least one target")
        sizes.append(min(size, total))
    if sizes != sorted(sizes):
        raise BadInput(f"--waves {text!r}: waves are cumulative and must grow")
    if sizes[-1] < total:
        sizes.append(total)
    return sizes


def config_for(config: Config, target: Target, settings: FleetSettings) -> tuple[Config, str]:
    """``config`` with one more environment (``fleet_<name>``) naming ``target``'s database."""
    name = f"{ENV_PREFIX}{target.name}"
    envs = dict(config.settings.environments)
    envs[name] = Environment(url=target.url, protected=settings.protected)
    copy = dataclasses.replace(config, settings=config.settings.model_copy(update={"environments": envs}))
    return copy, name


def run(
    config: Config,
    command: str,
    work: Work,
    *,
    parallel: int | None = None,
    resume: bool = False,
    waves: str | None = None,
    max_failures: int = 0,
    stop_on_error: bool = False,
    on_done: Callable[[TargetOutcome], None] | None = None,
) -> FleetResult:
    """Run ``work`` for each fleet target (see the module guarantees)."""
    settings = load(config)
    if not settings.targets:
        raise BadInput(f"{config.source}: [fleet] has no targets (targets = [...] or targets_file)")
    targets = settings.targets
    state_path = config.state_path / STATE_FILE
    previous = _read_state(state_path) if resume else {}
    if resume:
        if not previous:
            raise BadInput(f"nothing to resume: {state_path} holds no earlier run")
        targets = [t for t in targets if previous.get(t.name) != "ok"]
    width = parallel or settings.parallel
    result = FleetResult(
        uuid.uuid4().hex[:12], command, width, 0.0, [TargetOutcome(t.name) for t in targets], resumed=resume
    )
    result.waves = parse_waves(waves, len(targets)) if targets else []
    outcomes = {o.name: o for o in result.targets}
    state = {name: status for name, status in previous.items()}
    state.update({t.name: "pending" for t in targets})
    lock = threading.Lock()
    started = time.monotonic()

    def record(outcome: TargetOutcome) -> None:
        with lock:
            outcomes[outcome.name] = outcome
            state[outcome.name] = outcome.status
            _write_state(state_path, result.run_id, command, state)
        if on_done:
            on_done(outcome)

    def one(target: Target) -> TargetOutcome:
        t0 = time.monotonic()
        try:
            target_config, env_name = config_for(config, target, settings)
            outcome = work(target_config, env_name)
            outcome.name = target.name
        except PgwardenError as exc:
            outcome = TargetOutcome(target.name, "failed", redact(exc.message), exc.exit_code)
        except Exception as exc:  # a bug must not stop the other targets; it is reported per target
            outcome = TargetOutcome(target.name, "failed", redact(f"{type(exc).__name__}: {exc}"), 1)
        outcome.seconds = round(time.monotonic() - t0, 3)
        return outcome

    _write_state(state_path, result.run_id, command, state)
    done = 0
    stop = False
    with ThreadPoolExecutor(max_workers=width, thread_name_prefix="pgwarden-fleet") as pool:
        for wave_end in result.waves:
            wave = targets[done:wave_end]
            done = wave_end
            failures = _run_wave(pool, wave, one, record, width, stop_on_error)
            if failures > max_failures or (stop_on_error and failures):
                stop = True
                break
    if stop:
        for target in targets[done:]:
            record(TargetOutcome(target.name, "skipped", "an earlier wave failed"))
    for target in targets:
        if outcomes[target.name].status == "pending":
            record(TargetOutcome(target.name, "skipped", "not started: the run stopped on an error"))
    result.targets = [outcomes[t.name] for t in targets]
    result.seconds = round(time.monotonic() - started, 3)
    return result


def _run_wave(
    pool: ThreadPoolExecutor,
    wave: list[Target],
    one: Callable[[Target], TargetOutcome],
    record: Callable[[TargetOutcome], None],
    width: int,
    stop_on_error: bool,
) -> int:
    """Run one wave, at most ``width`` at a time; returns how many targets failed."""
    queue = list(wave)
    running: dict[Future[TargetOutcome], Target] = {}
    failures = 0
    while queue or running:
        while queue and len(running) < width and not (stop_on_error and failures):
            target = queue.pop(0)
            running[pool.submit(one, target)] = target
        if not running:
            break
        finished, _ = wait(running, return_when=FIRST_COMPLETED)
        for future in finished:
            running.pop(future)
            outcome = future.result()
            failures += outcome.status == "failed"
            record(outcome)
    return failures


def _read_state(path: Path) -> dict[str, str]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        return {str(k): str(v) for k, v in doc["targets"].items()}
    except (OSError, ValueError, KeyError, AttributeError):
        return {}


def _write_state(path: Path, run_id: str, command: str, state: dict[str, str]) -> None:
    """Write the run's state atomically (a kill never leaves a half-written file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_text(
        json.dumps(
            {"run_id": run_id, "command": command, "at": datetime.now(UTC).isoformat(), "targets": state}, indent=1
        ),
        encoding="utf-8",
    )
    os.replace(tmp, path)


def migrate_up(target_config: Config, env: str) -> TargetOutcome:
    """``migrate up`` on one target: what it applied and the version it reached."""
    from pgwarden.migrations.api import up

    result = up(target_config, env)
    return TargetOutcome(
        "", "ok", f"{len(result.steps)} applied", 0, version=result.version_after, applied=len(result.steps)
    )


def migrate_status(target_config: Config, env: str) -> TargetOutcome:
    """``migrate status`` on one target: ok when nothing is pending or failed."""
    from pgwarden.migrations.api import status

    result = status(target_config, env)
    counts: dict[str, Any] = result.counts
    pending = counts.get("pending", 0)
    problems = sum(n for state, n in counts.items() if state not in ("applied", "baseline", "pending"))
    state = "failed" if problems else ("ok" if not pending else "behind")
    detail = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    return TargetOutcome("", state, detail, 1 if problems else 0, version=result.current_version)
