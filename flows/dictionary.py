"""The data dictionary: dbt's descriptions, carried into the published file and beside it.

One place describes every published table and column: the dbt yml files. Models are
described in ``dbt_project/models/**/_*__models.yml``; the published tables that no dbt
model builds (``meta.editions``, ``meta.validation_results``, the run ledger) are
described as dbt *sources* in ``dbt_project/models/published/_published__sources.yml``.
``dbt build`` writes them all into ``manifest.json``; from there

- :func:`apply_comments` (called by publish) writes them into the published file as
  DuckDB comments (``COMMENT ON TABLE/COLUMN``), dbt's ``persist_docs`` carried through
  publish, so ``duckdb_columns()``, DBeaver and the CLI show them;
- :func:`write_dictionary` writes ``published/dictionary.html``: dbt's own static docs page
  (what ``dbt docs generate --static`` writes: dbt's ``index.html`` with the manifest and
  a catalog inlined), its catalog read from the published file itself, so the page shows
  the published types and needs no database connection of dbt's.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from flows.errors import DwhError
from flows.sources.common import sql_literal


@dataclass
class TableDoc:
    unique_id: str
    description: str
    columns: dict[str, str] = field(default_factory=dict)


def load_manifest(path: Path) -> dict[str, Any]:
    if not path.exists():
        raise DwhError(f"dbt's manifest {path} is missing: run 'dwh run' (dbt build writes it)")
    return json.loads(path.read_text(encoding="utf-8"))


def published_docs(manifest: dict[str, Any]) -> dict[tuple[str, str], TableDoc]:
    """(schema, table) -> its description, from dbt models and sources in the manifest."""
    docs: dict[tuple[str, str], TableDoc] = {}
    for unique_id, node in manifest.get("sources", {}).items():
        key = (node["schema"], node.get("identifier") or node["name"])
        docs[key] = _doc(unique_id, node)
    for unique_id, node in manifest.get("nodes", {}).items():
        if node.get("resource_type") not in {"model", "seed"}:
            continue
        key = (node["schema"], node.get("alias") or node["name"])
        docs[key] = _doc(unique_id, node)  # a model wins over a source of the same name
    return docs


def _doc(unique_id: str, node: dict[str, Any]) -> TableDoc:
    return TableDoc(
        unique_id=unique_id,
        description=(node.get("description") or "").strip(),
        columns={
            name: (column.get("description") or "").strip()
            for name, column in node.get("columns", {}).items()
        },
    )


def _published_columns(con: duckdb.DuckDBPyConnection, catalog: str) -> list[tuple]:
    return con.execute(
        """
        select t.schema_name, t.table_name, c.column_name, c.data_type, c.column_index,
               t.comment, c.comment, t.estimated_size
        from duckdb_tables() as t
        inner join duckdb_columns() as c
            on c.table_oid = t.table_oid
        where t.database_name = ? and not t.internal
        order by t.schema_name, t.table_name, c.column_index
        """,
        [catalog],
    ).fetchall()


def apply_comments(
    con: duckdb.DuckDBPyConnection, catalog: str, manifest: dict[str, Any]
) -> list[str]:
    """Comment every published table and column that dbt describes.

    Returns what has no description (``schema.table`` or ``schema.table.column``), so the
    caller can report it; tests/test_dictionary.py fails on any.
    """
    docs = published_docs(manifest)
    missing: list[str] = []
    seen_tables: set[tuple[str, str]] = set()
    for schema, table, column, *_ in _published_columns(con, catalog):
        doc = docs.get((schema, table))
        relation = f'{catalog}."{schema}"."{table}"'
        if (schema, table) not in seen_tables:
            seen_tables.add((schema, table))
            if doc and doc.description:
                con.execute(f"comment on table {relation} is {sql_literal(doc.description)}")
            else:
                missing.append(f"{schema}.{table}")
        text = doc.columns.get(column, "") if doc else ""
        if text:
            con.execute(f'comment on column {relation}."{column}" is {sql_literal(text)}')
        else:
            missing.append(f"{schema}.{table}.{column}")
    return missing


def _catalog(con: duckdb.DuckDBPyConnection, manifest: dict[str, Any]) -> dict[str, Any]:
    """dbt's catalog.json, read from the published file (types and comments as published)."""
    docs = published_docs(manifest)
    nodes: dict[str, Any] = {}
    sources: dict[str, Any] = {}
    for schema, table, column, data_type, index, table_comment, comment, size in _published_columns(
        con, "published"
    ):
        doc = docs.get((schema, table))
        if doc is None:
            continue
        group = sources if doc.unique_id.startswith("source.") else nodes
        entry = group.setdefault(
            doc.unique_id,
            {
                "unique_id": doc.unique_id,
                "metadata": {
                    "type": "BASE TABLE",
                    "schema": schema,
                    "name": table,
                    "database": "published",
                    "comment": table_comment,
                    "owner": None,
                },
                "columns": {},
                "stats": {
                    "has_stats": {
                        "id": "has_stats",
                        "label": "Has Stats?",
                        "value": False,
                        "include": False,
                        "description": "Indicates whether there are statistics for this table",
                    }
                },
            },
        )
        entry["columns"][column] = {
            "type": data_type,
            "index": index,
            "name": column,
            "comment": comment,
        }
        del size
    return {
        "metadata": {
            "dbt_schema_version": "https://schemas.getdbt.com/dbt/catalog/v1.json",
            "dbt_version": manifest.get("metadata", {}).get("dbt_version", ""),
            "generated_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            "invocation_id": None,
            "env": {},
        },
        "nodes": nodes,
        "sources": sources,
        "errors": None,
    }


def write_dictionary(published_db: Path, manifest_path: Path, target: Path) -> Path:
    """Write dbt's static docs page for the published tables to ``target``."""
    from dbt.task.docs import DOCS_INDEX_FILE_PATH

    manifest = load_manifest(manifest_path)
    con = duckdb.connect(":memory:")
    try:
        con.execute(f"attach {sql_literal(str(published_db))} as published (read_only)")
        catalog = _catalog(con, manifest)
    finally:
        con.close()
    page = Path(DOCS_INDEX_FILE_PATH).read_text(encoding="utf-8")
    page = page.replace('"MANIFEST.JSON INLINE DATA"', json.dumps(manifest))
    page = page.replace('"CATALOG.JSON INLINE DATA"', json.dumps(catalog))
    partial = target.with_name(f".{target.name}.partial")
    partial.write_text(page, encoding="utf-8")
    os.replace(partial, target)
    return target
