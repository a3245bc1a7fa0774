//! Child rows (a KOL's accounts, a product's listings, a session's lineup) loaded for a batch of
//! parents in one query, grouped by parent: no query per row.

use std::collections::HashMap;

use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

/// The rows of `E` whose `parent` column is one of `parents`, grouped by parent id and kept in
/// `order` within each group.
pub async fn load<E, C>(
    db: &C,
    parent: E::Column,
    order: E::Column,
    parents: impl IntoIterator<Item = Uuid>,
    parent_of: impl Fn(&E::Model) -> Uuid,
) -> Result<HashMap<Uuid, Vec<E::Model>>, DbErr>
where
    E: EntityTrait,
    C: ConnectionTrait,
{
    let ids: Vec<Uuid> = parents.into_iter().collect();
    let mut by_parent: HashMap<Uuid, Vec<E::Model>> = HashMap::new();
    if ids.is_empty() {
        return Ok(by_parent);
    }
    for row in E::find()
        .filter(parent.is_in(ids))
        .order_by_asc(order)
        .all(db)
        .await?
    {
        by_parent.entry(parent_of(&row)).or_default().push(row);
    }
    Ok(by_parent)
}
