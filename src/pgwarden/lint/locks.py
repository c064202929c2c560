"""The table locks a statement takes, from PostgreSQL's documented lock levels.

Sources: "Explicit Locking" (table-level lock modes) and the ALTER TABLE page,
which names the lock of each subcommand ("ACCESS EXCLUSIVE unless explicitly noted").
"""

from __future__ import annotations

from typing import Any

from pgwarden.lint.context import table_key
from pgwarden.lint.tree import kind_of, name_list

_MODES = {
    1: "ACCESS SHARE",
    2: "ROW SHARE",
    3: "ROW EXCLUSIVE",
    4: "SHARE UPDATE EXCLUSIVE",
    5: "SHARE",
    6: "SHARE ROW EXCLUSIVE",
    7: "EXCLUSIVE",
    8: "ACCESS EXCLUSIVE",
}
_ORDER = {name: level for level, name in _MODES.items()}

# ALTER TABLE subcommands documented with a weaker lock than ACCESS EXCLUSIVE.
_ALTER_TABLE_LOCKS = {
    "AT_ValidateConstraint": "SHARE UPDATE EXCLUSIVE",
    "AT_SetStatistics": "SHARE UPDATE EXCLUSIVE",
    "AT_ClusterOn": "SHARE UPDATE EXCLUSIVE",
    "AT_DropCluster": "SHARE UPDATE EXCLUSIVE",
    "AT_SetOptions": "SHARE UPDATE EXCLUSIVE",
    "AT_ResetOptions": "SHARE UPDATE EXCLUSIVE",
    "AT_SetRelOptions": "SHARE UPDATE EXCLUSIVE",
    "AT_ResetRelOptions": "SHARE UPDATE EXCLUSIVE",
    "AT_AttachPartition": "SHARE UPDATE EXCLUSIVE",
    "AT_EnableTrig": "SHARE ROW EXCLUSIVE",
    "AT_DisableTrig": "SHARE ROW EXCLUSIVE",
    "AT_EnableAlwaysTrig": "SHARE ROW EXCLUSIVE",
    "AT_EnableReplicaTrig": "SHARE ROW EXCLUSIVE",
    "AT_EnableTrigAll": "SHARE ROW EXCLUSIVE",
    "AT_DisableTrigAll": "SHARE ROW EXCLUSIVE",
    "AT_EnableTrigUser": "SHARE ROW EXCLUSIVE",
    "AT_DisableTrigUser": "SHARE ROW EXCLUSIVE",
}


def stronger(a: str, b: str) -> str:
    """The stronger of two lock modes ("" is no lock)."""
    return a if _ORDER.get(a, 0) >= _ORDER.get(b, 0) else b


def _alter_table_lock(node: Any) -> str:
    lock = ""
    for cmd in node.cmds or ():
        sub = cmd.subtype
        mode = _ALTER_TABLE_LOCKS.get(sub, "ACCESS EXCLUSIVE")
        if sub == "AT_AddConstraint" and cmd.def_.contype == "CONSTR_FOREIGN":
            mode = "SHARE ROW EXCLUSIVE"
        elif sub == "AT_DetachPartition" and cmd.def_.concurrent:
            mode = "SHARE UPDATE EXCLUSIVE"
        lock = stronger(lock, mode)
    return lock


def statement_locks(node: Any) -> list[tuple[str, str]]:
    """(table key, lock mode) for each table ``node`` locks with SHARE UPDATE EXCLUSIVE or stronger."""
    kind = kind_of(node)
    if kind == "AlterTableStmt" and node.objtype in ("OBJECT_TABLE", "OBJECT_MATVIEW"):
        out = [(table_key(node.relation), _alter_table_lock(node))]
        for cmd in node.cmds or ():
            if cmd.subtype == "AT_AddConstraint" and cmd.def_.contype == "CONSTR_FOREIGN":
                out.append((table_key(cmd.def_.pktable), "SHARE ROW EXCLUSIVE"))
            elif cmd.subtype == "AT_AttachPartition":
                out.append((table_key(cmd.def_.name), "ACCESS EXCLUSIVE"))
        return out
    if kind == "IndexStmt":
        return [(table_key(node.relation), "SHARE UPDATE EXCLUSIVE" if node.concurrent else "SHARE")]
    if kind == "DropStmt" and node.removeType == "OBJECT_TABLE":
        parts = [name_list(obj) for obj in node.objects or ()]
        return [(table_key((p[-2], p[-1]) if len(p) > 1 else (None, p[0])), "ACCESS EXCLUSIVE") for p in parts if p]
    if kind == "TruncateStmt":
        return [(table_key(rv), "ACCESS EXCLUSIVE") for rv in node.relations]
    if kind == "RenameStmt" and node.relation is not None:
        return [(table_key(node.relation), "ACCESS EXCLUSIVE")]
    if kind == "CreateTrigStmt":
        return [(table_key(node.relation), "SHARE ROW EXCLUSIVE")]
    if kind == "LockStmt":
        return [(table_key(rv), _MODES.get(node.mode, "ACCESS EXCLUSIVE")) for rv in node.relations]
    if kind == "ClusterStmt" and node.relation is not None:
        return [(table_key(node.relation), "ACCESS EXCLUSIVE")]
    if kind == "RefreshMatViewStmt":
        return [(table_key(node.relation), "EXCLUSIVE" if node.concurrent else "ACCESS EXCLUSIVE")]
    if kind == "VacuumStmt":
        full = any(o.defname == "full" for o in node.options or ())
        return [
            (table_key(r.relation), "ACCESS EXCLUSIVE" if full else "SHARE UPDATE EXCLUSIVE")
            for r in node.rels or ()
            if r.relation is not None
        ]
    if kind == "CreateStmt" and node.inhRelations and node.partbound is not None:
        return [(table_key(node.inhRelations[0]), "ACCESS EXCLUSIVE")]
    return []
