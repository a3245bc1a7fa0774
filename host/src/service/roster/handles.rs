//! Platform handles: a KOL's accounts and a product's listings. Attribution maps a platform id to
//! exactly one owner, so both lists follow the same rules: at most 16, none empty or listed
//! twice, none held by another owner.

use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::domain::{Platform, Validator};
use crate::service::Result;

/// Where a handle table keeps its platform, platform id and owner.
pub(super) struct Columns<E: EntityTrait> {
    pub platform: E::Column,
    pub handle: E::Column,
    pub owner: E::Column,
}

/// Checks the shape of a handle list named `list` whose ids sit under `key` (`accounts[i].account_id`).
pub(super) fn validate(v: &mut Validator, list: &str, key: &str, handles: &[(Platform, &str)]) {
    v.max_items(handles.len(), list, 16);
    for (i, (platform, id)) in handles.iter().enumerate() {
        v.non_empty(id, &format!("{list}[{i}].{key}"), 128);
        if handles[..i].iter().any(|(p, h)| p == platform && h == id) {
            v.error_code(format!("{list}[{i}].{key}"), "duplicate", "is listed twice");
        }
    }
}

/// Refuses handles that another owner already holds, naming each with `taken`.
pub(super) async fn check_free<E: EntityTrait, C: ConnectionTrait>(
    db: &C,
    columns: &Columns<E>,
    owner: Uuid,
    (list, key, taken): (&str, &str, &str),
    handles: &[(Platform, &str)],
) -> Result<()> {
    let mut v = Validator::new();
    for (i, (platform, id)) in handles.iter().enumerate() {
        let held = E::find()
            .filter(columns.platform.eq(platform.as_str()))
            .filter(columns.handle.eq(id.trim()))
            .filter(columns.owner.ne(owner))
            .one(db)
            .await?;
        if held.is_some() {
            v.error_code(format!("{list}[{i}].{key}"), "taken", taken);
        }
    }
    Ok(v.finish()?)
}

/// Replaces an owner's handles with `rows` (built by the caller from `handles`): refuses any
/// handle another owner holds, then deletes the owner's rows and inserts the new ones at once.
pub(super) async fn replace<E, C>(
    db: &C,
    columns: &Columns<E>,
    owner: Uuid,
    names: (&str, &str, &str),
    handles: &[(Platform, &str)],
    rows: Vec<E::ActiveModel>,
) -> Result<()>
where
    E: EntityTrait,
    E::ActiveModel: ActiveModelTrait<Entity = E> + Send,
    C: ConnectionTrait,
{
    check_free(db, columns, owner, names, handles).await?;
    E::delete_many()
        .filter(columns.owner.eq(owner))
        .exec(db)
        .await?;
    if !rows.is_empty() {
        E::insert_many(rows).exec(db).await?;
    }
    Ok(())
}
