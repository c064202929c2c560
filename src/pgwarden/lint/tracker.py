"""Updates the linter's schema knowledge after each statement (tables created, renamed, dropped, constraints)."""

from __future__ import annotations

from typing import Any

from pgwarden.lint.context import Knowledge, StatementContext, TableInfo, table_key
from pgwarden.lint.rules._util import not_null_check_column, strings, type_text
from pgwarden.lint.rules.partitions import partition_key_of
from pgwarden.lint.tree import kind_of, name_list


def _info(knowledge: Knowledge, key: str) -> TableInfo:
    info = knowledge.tables.get(key)
    if info is None:
        info = knowledge.tables[key] = TableInfo(key)
    return info


def _column(info: TableInfo, col: Any) -> None:
    if col.typeName is not None:
        info.columns[col.colname] = type_text(col.typeName)
    for con in col.constraints or ():
        kind = con.contype
        if kind == "CONSTR_PRIMARY":
            info.primary_key = (col.colname,)
        if kind in ("CONSTR_NOTNULL", "CONSTR_PRIMARY") or col.is_not_null:
            info.not_null.add(col.colname)
        elif kind == "CONSTR_CHECK":
            info.has_check = True


def _create_table(knowledge: Knowledge, node: Any) -> None:
    key = table_key(node.relation)
    existing = knowledge.tables.get(key)
    if node.if_not_exists and existing is not None and not existing.new:
        return
    info = knowledge.create(key)
    if node.partspec is not None:
        info.partitioned = True
        info.partition_key = partition_key_of(node.partspec)
    if node.inhRelations and node.partbound is not None:
        parent = knowledge.tables.get(table_key(node.inhRelations[0]))
        if parent is not None:
            info.columns.update(parent.columns)
            if key not in parent.partitions:
                parent.partitions.append(key)
    for elt in node.tableElts or ():
        kind = kind_of(elt)
        if kind == "ColumnDef":
            _column(info, elt)
        elif kind == "Constraint":
            if elt.contype == "CONSTR_CHECK":
                info.has_check = True
                column = not_null_check_column(elt.raw_expr)
                if column:
                    info.not_null_checks.add(column)
            elif elt.contype == "CONSTR_PRIMARY":
                info.not_null.update(strings(elt.keys))
                info.primary_key = tuple(strings(elt.keys))


def _alter_table(ctx: StatementContext, node: Any) -> None:
    knowledge = ctx.knowledge
    key = table_key(node.relation)
    info = _info(knowledge, key)
    for cmd in node.cmds or ():
        sub = cmd.subtype
        if sub == "AT_AddColumn":
            _column(info, cmd.def_)
            info.added_columns.add(cmd.def_.colname)
        elif sub == "AT_DropColumn":
            info.columns.pop(cmd.name, None)
            info.not_null.discard(cmd.name)
            info.not_null_checks.discard(cmd.name)
        elif sub == "AT_SetNotNull":
            info.not_null.add(cmd.name)
        elif sub == "AT_DropNotNull":
            info.not_null.discard(cmd.name)
        elif sub == "AT_AddConstraint":
            con = cmd.def_
            kind = con.contype
            column = None
            if kind == "CONSTR_CHECK":
                column = not_null_check_column(con.raw_expr)
            elif kind == "CONSTR_NOTNULL":
                keys = strings(con.keys)
                column = keys[0] if keys else None
            if con.skip_validation and con.conname:
                lock = "SHARE ROW EXCLUSIVE" if kind == "CONSTR_FOREIGN" else "ACCESS EXCLUSIVE"
                knowledge.not_valid[(key, con.conname)] = (ctx.txn.id, column, lock)
            elif not con.skip_validation:
                if kind == "CONSTR_CHECK":
                    info.has_check = True
                    if column:
                        info.not_null_checks.add(column)
                elif kind in ("CONSTR_NOTNULL", "CONSTR_PRIMARY"):
                    info.not_null.update(strings(con.keys))
        elif sub == "AT_ValidateConstraint":
            entry = knowledge.not_valid.pop((key, cmd.name), None)
            if entry is not None:
                _txn, column, lock = entry
                if lock == "ACCESS EXCLUSIVE":
                    info.has_check = True
                if column:
                    info.not_null_checks.add(column)
            else:
                info.has_check = True  # validating a constraint added elsewhere: assume it is the bound CHECK
                info.validated_unknown = True


def _rename(knowledge: Knowledge, node: Any) -> None:
    if node.relation is None:
        return
    key = table_key(node.relation)
    kind = node.renameType
    if kind == "OBJECT_TABLE":
        moved = knowledge.tables.pop(key) if key in knowledge.tables else TableInfo(key)
        new_key = table_key((node.relation.schemaname, node.newname))
        moved.key = new_key
        knowledge.tables[new_key] = moved
    elif kind == "OBJECT_COLUMN":
        info = knowledge.tables.get(key)
        if info is not None and node.subname in info.columns:
            info.columns[node.newname] = info.columns.pop(node.subname)


def track(ctx: StatementContext, node: Any) -> None:
    """Record what ``node`` changes in the schema, once the rules have looked at it."""
    knowledge = ctx.knowledge
    kind = kind_of(node)
    if kind == "CreateStmt":
        _create_table(knowledge, node)
    elif kind == "CreateTableAsStmt" and node.into is not None:
        knowledge.create(table_key(node.into.rel))
    elif kind == "SelectStmt" and node.intoClause is not None:
        knowledge.create(table_key(node.intoClause.rel))
    elif kind == "IndexStmt" and node.idxname:
        target = table_key(node.relation)
        knowledge.indexes[node.idxname] = target
        if node.relation.schemaname:
            knowledge.indexes[f"{node.relation.schemaname}.{node.idxname}"] = target
    elif kind == "AlterTableStmt" and node.objtype == "OBJECT_TABLE":
        _alter_table(ctx, node)
    elif kind == "RenameStmt":
        _rename(knowledge, node)
    elif kind == "DropStmt" and node.removeType == "OBJECT_TABLE":
        for obj in node.objects or ():
            names = name_list(obj)
            if not names:
                continue
            knowledge.tables.pop(table_key((names[-2], names[-1]) if len(names) > 1 else (None, names[0])), None)
