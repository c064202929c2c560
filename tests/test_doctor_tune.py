"""`pgwarden tune`: the pinned pgtune formulas, hand-tuned 4GB comparison, cgroup-aware machine detection, live diff."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import Project, run_cli
from pgwarden.doctor.machine import cgroup_cpu_limit, cgroup_memory_limit, detect
from pgwarden.doctor.tune import SAME_AS_HAND_TUNED, annotate_hand_tuned, recommend

GiB = 1024**3

# pgtune (2026 formulas, PostgreSQL 18, Linux) for 4 GB RAM, 2 CPUs, SSD, web application.
EXPECTED_4GB_WEB = {
    "max_connections": "200",
    "shared_buffers": "1GB",  # 4GB / 4
    "effective_cache_size": "3GB",  # 4GB x 3 / 4
    "maintenance_work_mem": "256MB",  # 4GB / 16
    "checkpoint_completion_target": "0.9",
    "wal_buffers": "16MB",  # 3% of 1GB = 31457kB, capped at 16MB
    "default_statistics_target": "100",
    "random_page_cost": "1.1",
    "effective_io_concurrency": "200",
    "work_mem": "5041kB",  # (4194304 - 1048576) kB / ((200 + 8) x 3)
    "huge_pages": "off",  # shared_buffers < 2GB
    "min_wal_size": "1GB",
    "max_wal_size": "4GB",
    "jit": "off",
    "wal_compression": "lz4",
}


def _values(settings: list) -> dict[str, str]:  # type: ignore[type-arg]
    return {s.name: s.value for s in settings}


def test_4gb_2cpu_ssd_web_gives_the_documented_formula_values() -> None:
    assert _values(recommend(4 * GiB, 2, storage="ssd", workload="web")) == EXPECTED_4GB_WEB


def test_hand_tuned_differences_are_explained_one_by_one() -> None:
    settings = recommend(4 * GiB, 2, storage="ssd", workload="web")
    annotate_hand_tuned(settings, 4 * GiB)
    by_name = {s.name: s for s in settings}
    for same in (
        "shared_buffers",
        "effective_cache_size",
        "maintenance_work_mem",
        "checkpoint_completion_target",
        "min_wal_size",
        "random_page_cost",
        "effective_io_concurrency",
    ):
        assert by_name[same].note == SAME_AS_HAND_TUNED, same
    for differs, seed in (
        ("max_connections", "100"),
        ("work_mem", "16MB"),
        ("wal_buffers", "64MB"),
        ("max_wal_size", "2GB"),
    ):
        assert by_name[differs].hand_tuned == seed
        assert by_name[differs].note and by_name[differs].note != SAME_AS_HAND_TUNED
    assert "4.7 GB" in (by_name["work_mem"].note or "")
    assert by_name["jit"].note == "not in the hand-tuned 4GB config (pgtune addition)"


def test_connections_and_workloads_change_the_formulas() -> None:
    seed_count = _values(recommend(4 * GiB, 2, connections=100))
    assert (seed_count["max_connections"], seed_count["work_mem"]) == ("100", "9709kB")
    big = _values(recommend(64 * GiB, 16, storage="nvme", workload="dw"))
    assert big["shared_buffers"] == "16GB" and big["huge_pages"] == "try"
    assert big["maintenance_work_mem"] == "8GB"  # 64GB / 8, capped
    assert big["autovacuum_work_mem"] == "2GB" and big["autovacuum_max_workers"] == "4"
    assert (big["max_worker_processes"], big["max_parallel_workers_per_gather"]) == ("16", "8")
    assert big["effective_io_concurrency"] == "1000" and big["default_statistics_target"] == "500"
    assert "jit" not in big
    # (64GB - 16GB) / ((40 + 16) x 3) / 2 = 149796kB
    assert big["work_mem"] == "149796kB"
    desktop = _values(recommend(2 * GiB, 1, storage="hdd", workload="desktop"))
    assert desktop["shared_buffers"] == "128MB" and desktop["wal_level"] == "minimal"
    assert desktop["work_mem"] == "4MB" and desktop["random_page_cost"] == "4"


def _tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="ascii")
    return root


def test_cgroup_v2_limits_win_over_the_host(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "proc/meminfo": "MemTotal:       65859832 kB\nMemFree: 1 kB\n",
            "proc/self/cgroup": "0::/kubepods/pod1/ctr\n",
            "sys/fs/cgroup/cgroup.controllers": "cpu memory\n",
            "sys/fs/cgroup/kubepods/memory.max": "max\n",
            "sys/fs/cgroup/kubepods/pod1/memory.max": "4294967296\n",
            "sys/fs/cgroup/kubepods/pod1/ctr/memory.max": "max\n",
            "sys/fs/cgroup/kubepods/pod1/ctr/cpu.max": "150000 100000\n",
        },
    )
    assert cgroup_memory_limit(root)[0] == 4 * GiB
    assert cgroup_cpu_limit(root)[0] == 1.5
    machine = detect(root)
    assert machine.ram_bytes == 4 * GiB
    assert machine.cpus == min(2, machine.cpus) and machine.cpus >= 1
    assert any("cgroup" in s and "pod1/memory.max" in s for s in machine.sources)


def test_cgroup_v1_limits_and_unlimited_values(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "proc/meminfo": "MemTotal:       16384000 kB\n",
            "proc/self/cgroup": "4:memory:/docker/abc\n2:cpu,cpuacct:/docker/abc\n",
            "sys/fs/cgroup/memory/memory.limit_in_bytes": "9223372036854771712\n",
            "sys/fs/cgroup/memory/docker/abc/memory.limit_in_bytes": "2147483648\n",
            "sys/fs/cgroup/cpu/docker/abc/cpu.cfs_quota_us": "100000\n",
            "sys/fs/cgroup/cpu/docker/abc/cpu.cfs_period_us": "100000\n",
        },
    )
    assert cgroup_memory_limit(root)[0] == 2 * GiB
    assert cgroup_cpu_limit(root)[0] == 1.0
    assert detect(root).ram_bytes == 2 * GiB and detect(root).cpus == 1
    unlimited = _tree(
        tmp_path / "u",
        {
            "proc/meminfo": "MemTotal:       16384000 kB\n",
            "proc/self/cgroup": "4:memory:/\n2:cpu:/\n",
            "sys/fs/cgroup/memory/memory.limit_in_bytes": "9223372036854771712\n",
            "sys/fs/cgroup/cpu/cpu.cfs_quota_us": "-1\n",
            "sys/fs/cgroup/cpu/cpu.cfs_period_us": "100000\n",
        },
    )
    assert cgroup_memory_limit(unlimited) == (None, None)
    assert cgroup_cpu_limit(unlimited) == (None, None)
    assert detect(unlimited).ram_bytes == 16384000 * 1024


def test_cli_tune_without_env_needs_no_database(tmp_path: Path) -> None:
    result = run_cli(
        "tune", "--ram", "4GB", "--cpus", "2", "--storage", "ssd", "--workload", "web", "--json", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert {s["name"]: s["value"] for s in doc["settings"]} == EXPECTED_4GB_WEB
    assert doc["formulas"].startswith("pgtune 2026 formulas")
    human = run_cli("tune", "--ram", "4GB", "--cpus", "2", cwd=tmp_path)
    assert "work_mem" in human.stdout and "5041kB" in human.stdout and "hand-tuned 4GB" in human.stdout
    assert "assumed: storage ssd" in human.stdout and "workload web" in human.stdout
    assert "assumed" not in json.dumps(doc["assumed"]) and doc["assumed"] == []  # both were given
    bad = run_cli("tune", "--workload", "batch", "--ram", "4GB", "--cpus", "2", cwd=tmp_path)
    assert bad.returncode == 2 and "workload must be one of" in bad.stderr


def test_tune_env_diffs_live_settings_and_prints_alter_system(project: Project) -> None:
    result = project.cli("tune", "--env", "test", "--ram", "4GB", "--cpus", "2", "--json", check_exit=0)
    doc = json.loads(result.stdout)
    by_name = {s["name"]: s for s in doc["settings"]}
    assert by_name["max_connections"]["live"] == "200" and by_name["max_connections"]["differs"] is False
    assert by_name["work_mem"]["live"] == "4MB" and by_name["work_mem"]["differs"] is True
    assert "ALTER SYSTEM SET \"work_mem\" = '5041kB';" in doc["alter_system"]
    assert doc["alter_system"][-1] == "SELECT pg_reload_conf();"
    assert "shared_buffers" in doc["restart_needed"]
    # the embedded server is built without lz4: pglz is recommended instead, and said so
    assert by_name["wal_compression"]["value"] == "pglz"
    assert "built without lz4" in by_name["wal_compression"]["note"]
    human = project.cli("tune", "--env", "test", "--ram", "4GB", "--cpus", "2", check_exit=0)
    assert "ALTER SYSTEM SET \"work_mem\" = '5041kB';" in human.stdout
    assert "then restart PostgreSQL for: shared_buffers" in human.stdout
