//! The set statements of the commit path: multi-row inserts and upserts sized to the bound
//! parameter limit, and the cross-host ingest lock.
//!
//! A group commit writes each table with one statement (more only when a group outgrows one
//! statement's parameters), so its round trips do not grow with the deliveries in it. Every
//! insert is conflict-free (`ON CONFLICT ... DO NOTHING` or `DO UPDATE`): a row another host
//! already wrote is kept or updated, never an error that fails the group.

use sea_orm::sea_query::{Alias, Expr, ExprTrait, OnConflict};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseBackend, DbErr, EntityTrait, Iterable,
    QueryFilter, Statement,
};
use sha2::{Digest, Sha256};

use crate::store::entities::{platform_event, poll_cursor};

/// Bound parameters per statement: under SQLite's limit (32,766) and PostgreSQL's (65,535).
const MAX_PARAMS: usize = 30_000;

/// How many rows of `E` fit in one statement.
fn rows_per_statement<E: EntityTrait>() -> usize {
    (MAX_PARAMS / E::Column::iter().count().max(1)).max(1)
}

/// Takes the transaction-scoped ingest lock of each platform, in one statement, before the
/// group reads anything (PostgreSQL; SQLite's `BEGIN IMMEDIATE` already makes writers take
/// turns). Two hosts committing groups about the same platform then run one after the other:
/// the second one's reads (which events are known, which orders exist, which refunds wait)
/// see everything the first committed, so an event is counted once and no update is lost
/// between hosts (a refund linked to an order another host is creating, a settlement waiting
/// for it). Locks are taken in ascending key order, so groups never deadlock on them; they are
/// released by the commit or rollback.
pub async fn lock_platforms<'a, C: ConnectionTrait>(
    db: &C,
    platforms: impl IntoIterator<Item = &'a str>,
) -> Result<(), DbErr> {
    if db.get_database_backend() != DatabaseBackend::Postgres {
        return Ok(());
    }
    let mut keys: Vec<i64> = platforms.into_iter().map(lock_key).collect();
    keys.sort_unstable();
    keys.dedup();
    if keys.is_empty() {
        return Ok(());
    }
    let params: Vec<String> = (1..=keys.len()).map(|i| format!("${i}::int8")).collect();
    let sql = format!(
        "SELECT pg_advisory_xact_lock(k) FROM unnest(ARRAY[{}]) AS t(k)",
        params.join(", ")
    );
    db.query_all_raw(Statement::from_sql_and_values(
        DatabaseBackend::Postgres,
        sql,
        keys.into_iter().map(Into::into),
    ))
    .await?;
    Ok(())
}

/// The advisory lock key of a platform's ingest: stable across hosts and versions.
pub fn lock_key(platform: &str) -> i64 {
    let digest = Sha256::digest(format!("kolhost.ingest:{platform}").as_bytes());
    i64::from_be_bytes(digest[..8].try_into().expect("8 bytes"))
}

/// Inserts `rows`, skipping any whose key (`conflict`) is already stored.
pub async fn insert_new<E, A, C>(
    db: &C,
    rows: Vec<A>,
    conflict: impl IntoIterator<Item = E::Column> + Clone,
) -> Result<(), DbErr>
where
    E: EntityTrait,
    A: ActiveModelTrait<Entity = E> + Send,
    C: ConnectionTrait,
{
    let on_conflict = OnConflict::columns(conflict).do_nothing().to_owned();
    write_chunked::<E, A, C>(db, rows, Some(on_conflict)).await
}

/// Inserts `rows`, or where the primary key `key` is stored, sets `update` from the new row.
pub async fn upsert<E, A, C>(
    db: &C,
    rows: Vec<A>,
    key: E::Column,
    update: impl IntoIterator<Item = E::Column>,
) -> Result<(), DbErr>
where
    E: EntityTrait,
    A: ActiveModelTrait<Entity = E> + Send,
    C: ConnectionTrait,
{
    let on_conflict = OnConflict::column(key).update_columns(update).to_owned();
    write_chunked::<E, A, C>(db, rows, Some(on_conflict)).await
}

/// Inserts rows whose keys are new by construction (fresh UUIDs).
pub async fn insert<E, A, C>(db: &C, rows: Vec<A>) -> Result<(), DbErr>
where
    E: EntityTrait,
    A: ActiveModelTrait<Entity = E> + Send,
    C: ConnectionTrait,
{
    write_chunked::<E, A, C>(db, rows, None).await
}

async fn write_chunked<E, A, C>(
    db: &C,
    rows: Vec<A>,
    on_conflict: Option<OnConflict>,
) -> Result<(), DbErr>
where
    E: EntityTrait,
    A: ActiveModelTrait<Entity = E> + Send,
    C: ConnectionTrait,
{
    let per = rows_per_statement::<E>();
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<A> = rows.by_ref().take(per).collect();
        let mut q = E::insert_many(chunk);
        if let Some(oc) = &on_conflict {
            q = q.on_conflict(oc.clone());
        }
        q.exec_without_returning(db).await?;
    }
    Ok(())
}

/// Marks the stored events `keys` of `plugin` as applied (settlements that waited for their
/// order), in one statement per plugin and chunk.
pub async fn mark_applied<C: ConnectionTrait>(
    db: &C,
    plugin: &str,
    keys: &[String],
) -> Result<(), DbErr> {
    for chunk in keys.chunks(MAX_PARAMS - 1) {
        platform_event::Entity::update_many()
            .col_expr(platform_event::Column::Outcome, "applied".into())
            .filter(platform_event::Column::Plugin.eq(plugin))
            .filter(platform_event::Column::EventKey.is_in(chunk.iter().map(String::as_str)))
            .exec(db)
            .await?;
    }
    Ok(())
}

/// A poller's position after the pages of one group (folded in arrival order).
pub struct CursorUpdate {
    pub plugin: String,
    /// The cursor to keep: `Some` when a page without error handed one back (or ended the
    /// poll with none); `None` keeps the stored cursor (every page of the group failed).
    pub advance: Option<Option<String>>,
    /// The cursor a first row starts with when none is stored yet.
    pub initial: Option<String>,
    pub last_error: Option<String>,
    pub new_events: i64,
}

/// Stores a poller's position in one upsert: inserts the row, or advances the stored one (the
/// event count adds up; the cursor moves only when a page succeeded).
pub async fn save_cursor<C: ConnectionTrait>(
    db: &C,
    c: CursorUpdate,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), DbErr> {
    use poll_cursor::Column;
    let row = poll_cursor::ActiveModel {
        plugin: sea_orm::Set(c.plugin),
        cursor: sea_orm::Set(c.advance.clone().unwrap_or(c.initial)),
        last_error: sea_orm::Set(c.last_error),
        events: sea_orm::Set(c.new_events),
        polled_at: sea_orm::Set(Some(now)),
        updated_at: sea_orm::Set(now),
    };
    let mut oc = OnConflict::column(Column::Plugin);
    let mut update = vec![Column::LastError, Column::PolledAt, Column::UpdatedAt];
    if c.advance.is_some() {
        update.push(Column::Cursor);
    }
    oc.update_columns(update).value(
        Column::Events,
        Expr::col((Alias::new("poll_cursors"), Column::Events))
            .add(Expr::col((Alias::new("excluded"), Column::Events))),
    );
    poll_cursor::Entity::insert(row)
        .on_conflict(oc.to_owned())
        .exec_without_returning(db)
        .await?;
    Ok(())
}
