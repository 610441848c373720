//! Reading a database's schema from PostgreSQL's own catalog, so checks
//! judge what a migration did rather than how its SQL was spelled.
//!
//! [`columns`], [`constraints`] and [`indexes`] describe one table of the
//! `public` schema; [`snapshot`] describes everything a migration can
//! create, as a set that compares for equality and diffs readably (a down
//! migration must leave the schema exactly as it found it).

use std::collections::BTreeSet;
use std::fmt;

use sqlx::{PgPool, Row};

/// One column of a table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    /// As PostgreSQL spells it: `bigint`, `text`, `character varying(80)`,
    /// `timestamp with time zone`.
    pub data_type: String,
    pub not_null: bool,
    /// The default expression, e.g. `now()` or
    /// `nextval('students_id_seq'::regclass)`.
    pub default: Option<String>,
    /// `Some("always")` or `Some("by default")` for identity columns.
    pub identity: Option<&'static str>,
    /// The expression of a generated (computed) column.
    pub generated: Option<String>,
}

impl Column {
    /// Whether the database fills this column in when an INSERT leaves it
    /// out: a default, an identity, or a generated expression.
    pub fn has_default(&self) -> bool {
        self.default.is_some() || self.identity.is_some() || self.generated.is_some()
    }
}

/// What a constraint enforces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConstraintKind {
    PrimaryKey,
    Unique,
    ForeignKey,
    Check,
    Exclusion,
    /// Any other kind PostgreSQL adds (a NOT NULL constraint in 18, a
    /// constraint trigger), by its catalog letter.
    Other(char),
}

/// One constraint of a table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Constraint {
    pub name: String,
    pub kind: ConstraintKind,
    /// The constrained columns, in order.
    pub columns: Vec<String>,
    /// As `pg_get_constraintdef` prints it, e.g. `UNIQUE (email)`.
    pub definition: String,
}

/// One index of a table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Index {
    pub name: String,
    /// Key columns in order; an expression key appears as its text, e.g.
    /// `lower(email)`.
    pub columns: Vec<String>,
    pub unique: bool,
    pub primary: bool,
    /// The WHERE clause of a partial index.
    pub predicate: Option<String>,
    /// The whole `CREATE INDEX` statement, as PostgreSQL prints it.
    pub definition: String,
}

/// Whether `table` exists in the `public` schema (as a table, partitioned
/// or not).
pub async fn table_exists(pool: &PgPool, table: &str) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                        WHERE n.nspname = 'public' AND c.relname = $1 AND c.relkind IN ('r', 'p'))",
    )
    .bind(table)
    .fetch_one(pool)
    .await
}

/// The tables of the `public` schema, by name.
pub async fn tables(pool: &PgPool) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY 1",
    )
    .fetch_all(pool)
    .await
}

/// The columns of `table` (in the `public` schema) in the order they were
/// declared; empty when there is no such table.
pub async fn columns(pool: &PgPool, table: &str) -> Result<Vec<Column>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT a.attname::text AS name,
                format_type(a.atttypid, a.atttypmod) AS data_type,
                a.attnotnull AS not_null,
                a.attidentity::text AS identity,
                a.attgenerated::text AS generated,
                pg_get_expr(d.adbin, d.adrelid) AS expr
         FROM pg_attribute a
         JOIN pg_class c ON c.oid = a.attrelid
         JOIN pg_namespace n ON n.oid = c.relnamespace
         LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
         WHERE n.nspname = 'public' AND c.relname = $1 AND a.attnum > 0 AND NOT a.attisdropped
         ORDER BY a.attnum",
    )
    .bind(table)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .iter()
        .map(|r| {
            let expr: Option<String> = r.get("expr");
            let generated = r.get::<String, _>("generated") == "s";
            Column {
                name: r.get("name"),
                data_type: r.get("data_type"),
                not_null: r.get("not_null"),
                identity: match r.get::<String, _>("identity").as_str() {
                    "a" => Some("always"),
                    "d" => Some("by default"),
                    _ => None,
                },
                default: if generated { None } else { expr.clone() },
                generated: if generated { expr } else { None },
            }
        })
        .collect())
}

/// The constraints of `table` (in the `public` schema), by name.
pub async fn constraints(pool: &PgPool, table: &str) -> Result<Vec<Constraint>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT con.conname::text AS name,
                con.contype::text AS kind,
                ARRAY(SELECT a.attname::text
                      FROM unnest(con.conkey) WITH ORDINALITY AS k(attnum, ord)
                      JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum
                      ORDER BY k.ord) AS columns,
                pg_get_constraintdef(con.oid) AS definition
         FROM pg_constraint con
         JOIN pg_class c ON c.oid = con.conrelid
         JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = 'public' AND c.relname = $1
         ORDER BY 1",
    )
    .bind(table)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .iter()
        .map(|r| Constraint {
            name: r.get("name"),
            kind: match r.get::<String, _>("kind").chars().next().unwrap_or('?') {
                'p' => ConstraintKind::PrimaryKey,
                'u' => ConstraintKind::Unique,
                'f' => ConstraintKind::ForeignKey,
                'c' => ConstraintKind::Check,
                'x' => ConstraintKind::Exclusion,
                other => ConstraintKind::Other(other),
            },
            columns: r.get("columns"),
            definition: r.get("definition"),
        })
        .collect())
}

/// The indexes of `table` (in the `public` schema), by name, including
/// the ones PostgreSQL creates for primary keys and unique constraints.
pub async fn indexes(pool: &PgPool, table: &str) -> Result<Vec<Index>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT ic.relname::text AS name,
                ARRAY(SELECT pg_get_indexdef(x.indexrelid, k, true)
                      FROM generate_series(1, x.indnkeyatts) AS k ORDER BY k) AS columns,
                x.indisunique AS is_unique,
                x.indisprimary AS is_primary,
                pg_get_expr(x.indpred, x.indrelid, true) AS predicate,
                pg_get_indexdef(x.indexrelid) AS definition
         FROM pg_index x
         JOIN pg_class ic ON ic.oid = x.indexrelid
         JOIN pg_class t ON t.oid = x.indrelid
         JOIN pg_namespace n ON n.oid = t.relnamespace
         WHERE n.nspname = 'public' AND t.relname = $1
         ORDER BY 1",
    )
    .bind(table)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .iter()
        .map(|r| Index {
            name: r.get("name"),
            columns: r.get("columns"),
            unique: r.get("is_unique"),
            primary: r.get("is_primary"),
            predicate: r.get("predicate"),
            definition: r.get("definition"),
        })
        .collect())
}

/// One thing a migration can create, as a snapshot lists it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct SchemaObject {
    /// `table`, `column`, `index`, `constraint`, `sequence`, `enum type`,
    /// `function`, `trigger`, `view`, `extension`, `schema`, ...
    pub kind: String,
    pub name: String,
    /// The table it belongs to, for columns, indexes, constraints,
    /// triggers and owned sequences.
    pub table: Option<String>,
    /// What it is, beyond its name: a column's type, nullability and
    /// default; an index's definition; an enum's labels.
    pub detail: String,
}

impl fmt::Display for SchemaObject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind, self.name)?;
        if let Some(t) = self.table.as_ref().filter(|_| self.kind != "column") {
            write!(f, " on {t}")?;
        }
        if !self.detail.is_empty() {
            write!(f, ": {}", self.detail)?;
        }
        Ok(())
    }
}

/// Everything in the `public` schema a migration can create or drop, plus
/// the list of schemas; two snapshots are equal when the schema is.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Snapshot {
    pub objects: BTreeSet<SchemaObject>,
}

/// How a schema changed between two snapshots.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SchemaDiff {
    /// In the later snapshot only: created, or left behind.
    pub added: Vec<SchemaObject>,
    /// In the earlier snapshot only: dropped.
    pub removed: Vec<SchemaObject>,
}

impl SchemaDiff {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty()
    }
}

impl fmt::Display for SchemaDiff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A column or index of a table that is itself listed says nothing
        // new: show the table alone.
        let brief = |list: &[SchemaObject]| -> Vec<String> {
            let tables: BTreeSet<&str> = list.iter().filter(|o| o.kind == "table").map(|o| o.name.as_str()).collect();
            list.iter()
                .filter(|o| o.kind == "table" || o.table.as_deref().is_none_or(|t| !tables.contains(t)))
                .map(ToString::to_string)
                .collect()
        };
        let mut first = true;
        for (label, list) in [("+ ", &self.added), ("- ", &self.removed)] {
            for line in brief(list) {
                if !first {
                    writeln!(f)?;
                }
                first = false;
                write!(f, "{label}{line}")?;
            }
        }
        Ok(())
    }
}

impl Snapshot {
    /// The same snapshot without `table` and everything belonging to it
    /// (its columns, indexes, constraints, triggers, owned sequences): for
    /// leaving sqlx's `_sqlx_migrations` out of a comparison.
    #[must_use]
    pub fn without_table(mut self, table: &str) -> Snapshot {
        self.objects.retain(|o| !(o.name == table && o.kind == "table") && o.table.as_deref() != Some(table));
        self
    }

    /// What changed from `self` to `later`.
    pub fn diff(&self, later: &Snapshot) -> SchemaDiff {
        SchemaDiff {
            added: later.objects.difference(&self.objects).cloned().collect(),
            removed: self.objects.difference(&later.objects).cloned().collect(),
        }
    }

    /// Objects of one kind, e.g. `"index"`.
    pub fn of_kind<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = &'a SchemaObject> + 'a {
        self.objects.iter().filter(move |o| o.kind == kind)
    }
}

/// Takes a snapshot of the `public` schema (and the list of schemas).
///
/// Objects that belong to an extension are left out: an extension is
/// listed once, not as the hundred functions it installs.
pub async fn snapshot(pool: &PgPool) -> Result<Snapshot, sqlx::Error> {
    let rows = sqlx::query(SNAPSHOT_SQL).fetch_all(pool).await?;
    Ok(Snapshot {
        objects: rows
            .iter()
            .map(|r| SchemaObject {
                kind: r.get("kind"),
                name: r.get("name"),
                table: r.get("tbl"),
                detail: r.get::<Option<String>, _>("detail").unwrap_or_default(),
            })
            .collect(),
    })
}

/// One row per object: kind, name, owning table, detail. `ext` filters out
/// members of extensions, which an extension's own row stands for.
const SNAPSHOT_SQL: &str = r#"
WITH ext AS (
    SELECT classid, objid FROM pg_depend WHERE deptype = 'e'
), pub AS (
    SELECT oid FROM pg_namespace WHERE nspname = 'public'
)
SELECT 'schema' AS kind, nspname::text AS name, NULL::text AS tbl, NULL::text AS detail
FROM pg_namespace
WHERE nspname NOT LIKE 'pg\_%' AND nspname <> 'information_schema'

UNION ALL
SELECT CASE c.relkind WHEN 'r' THEN 'table' WHEN 'p' THEN 'table' WHEN 'v' THEN 'view'
                      WHEN 'm' THEN 'materialized view' WHEN 'S' THEN 'sequence'
                      WHEN 'f' THEN 'foreign table' WHEN 'c' THEN 'composite type' END,
       c.relname::text,
       (SELECT t.relname::text FROM pg_depend d JOIN pg_class t ON t.oid = d.refobjid
        WHERE c.relkind = 'S' AND d.classid = 'pg_class'::regclass AND d.objid = c.oid
          AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i') LIMIT 1),
       CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid, true) END
FROM pg_class c
WHERE c.relnamespace = (SELECT oid FROM pub) AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f', 'c')
  AND NOT EXISTS (SELECT 1 FROM ext WHERE ext.classid = 'pg_class'::regclass AND ext.objid = c.oid)

UNION ALL
SELECT 'column', c.relname || '.' || a.attname, c.relname::text,
       format_type(a.atttypid, a.atttypmod)
       || CASE WHEN a.attnotnull THEN ' not null' ELSE ' null' END
       || CASE WHEN a.attgenerated = 's' THEN ' generated always as (' || pg_get_expr(d.adbin, d.adrelid) || ') stored'
               ELSE coalesce(' default ' || pg_get_expr(d.adbin, d.adrelid), '') END
       || CASE a.attidentity WHEN 'a' THEN ' generated always as identity'
                             WHEN 'd' THEN ' generated by default as identity' ELSE '' END
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE c.relnamespace = (SELECT oid FROM pub) AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'c')
  AND a.attnum > 0 AND NOT a.attisdropped
  AND NOT EXISTS (SELECT 1 FROM ext WHERE ext.classid = 'pg_class'::regclass AND ext.objid = c.oid)

UNION ALL
SELECT 'index', ic.relname::text, t.relname::text, pg_get_indexdef(ic.oid)
FROM pg_index x
JOIN pg_class ic ON ic.oid = x.indexrelid
JOIN pg_class t ON t.oid = x.indrelid
WHERE ic.relnamespace = (SELECT oid FROM pub)
  AND NOT EXISTS (SELECT 1 FROM ext WHERE ext.classid = 'pg_class'::regclass AND ext.objid = t.oid)

UNION ALL
SELECT 'constraint', con.conname::text, coalesce(c.relname, ty.typname)::text, pg_get_constraintdef(con.oid)
FROM pg_constraint con
LEFT JOIN pg_class c ON c.oid = con.conrelid
LEFT JOIN pg_type ty ON ty.oid = con.contypid
WHERE con.connamespace = (SELECT oid FROM pub)
  AND NOT EXISTS (SELECT 1 FROM ext WHERE ext.classid = 'pg_class'::regclass AND ext.objid = con.conrelid)

UNION ALL
SELECT CASE t.typtype WHEN 'e' THEN 'enum type' WHEN 'd' THEN 'domain' WHEN 'r' THEN 'range type'
                      WHEN 'm' THEN 'multirange type' WHEN 'b' THEN 'base type' ELSE 'type' END,
       t.typname::text, NULL,
       CASE t.typtype
            WHEN 'e' THEN (SELECT string_agg(quote_literal(e.enumlabel), ', ' ORDER BY e.enumsortorder)
                           FROM pg_enum e WHERE e.enumtypid = t.oid)
            WHEN 'd' THEN format_type(t.typbasetype, t.typtypmod)
       END
FROM pg_type t
WHERE t.typnamespace = (SELECT oid FROM pub)
  AND t.typrelid = 0
  AND NOT EXISTS (SELECT 1 FROM pg_type e WHERE e.typarray = t.oid)
  AND NOT EXISTS (SELECT 1 FROM ext WHERE ext.classid = 'pg_type'::regclass AND ext.objid = t.oid)

UNION ALL
SELECT CASE p.prokind WHEN 'p' THEN 'procedure' WHEN 'a' THEN 'aggregate'
                      WHEN 'w' THEN 'window function' ELSE 'function' END,
       p.oid::regprocedure::text, NULL,
       CASE WHEN p.prokind IN ('f', 'w') THEN 'returns ' || pg_get_function_result(p.oid) END
FROM pg_proc p
WHERE p.pronamespace = (SELECT oid FROM pub)
  AND NOT EXISTS (SELECT 1 FROM ext WHERE ext.classid = 'pg_proc'::regclass AND ext.objid = p.oid)

UNION ALL
SELECT 'trigger', tg.tgname::text, c.relname::text, pg_get_triggerdef(tg.oid)
FROM pg_trigger tg
JOIN pg_class c ON c.oid = tg.tgrelid
WHERE c.relnamespace = (SELECT oid FROM pub) AND NOT tg.tgisinternal

UNION ALL
SELECT 'extension', e.extname::text, NULL, NULL
FROM pg_extension e
WHERE e.extname <> 'plpgsql'
"#;
