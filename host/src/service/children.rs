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

/// How a child table hangs off its parent: the parent-id column, the order within a parent,
/// and how to read the parent id off a row.
pub struct Link<E: EntityTrait> {
    pub parent: E::Column,
    pub order: E::Column,
    pub parent_of: fn(&E::Model) -> Uuid,
}

/// Each of `parents` made into its view with its children, all children loaded in one query.
/// `child` turns a row into what the view holds (`None` leaves the row out: unreadable, or not
/// the caller's to see).
pub async fn attach<E, C, P, Child, V>(
    db: &C,
    link: Link<E>,
    parents: Vec<P>,
    id_of: impl Fn(&P) -> Uuid,
    child: impl Fn(E::Model) -> Option<Child>,
    view: impl Fn(P, Vec<Child>) -> V,
) -> Result<Vec<V>, DbErr>
where
    E: EntityTrait,
    C: ConnectionTrait,
{
    let mut rows = load::<E, C>(
        db,
        link.parent,
        link.order,
        parents.iter().map(&id_of),
        link.parent_of,
    )
    .await?;
    Ok(parents
        .into_iter()
        .map(|p| {
            let children = rows
                .remove(&id_of(&p))
                .unwrap_or_default()
                .into_iter()
                .filter_map(&child)
                .collect();
            view(p, children)
        })
        .collect())
}
