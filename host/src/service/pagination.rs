//! Cursor pagination (design §3) over any sea-orm select, answered as `{"items", "next_cursor"}`.
//! Ids are UUIDv7, so ordering by id is creation order and the cursor is the last id seen.

use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, ModelTrait, QueryFilter, QueryOrder,
    QuerySelect, Select,
};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::error::{Error, Result};

pub const DEFAULT_LIMIT: u64 = 50;
pub const MAX_LIMIT: u64 = 500;

/// A checked page request: how many items, after which id.
#[derive(Debug, Clone, Copy)]
pub struct PageRequest {
    pub limit: u64,
    pub after: Option<Uuid>,
}

impl Default for PageRequest {
    fn default() -> Self {
        PageRequest {
            limit: DEFAULT_LIMIT,
            after: None,
        }
    }
}

impl PageRequest {
    /// Reads `?limit=&cursor=`: a limit of 1 to 500 (default 50), a cursor this server issued.
    pub fn parse(limit: Option<u64>, cursor: Option<&str>) -> Result<Self> {
        let limit = match limit {
            None => DEFAULT_LIMIT,
            Some(n) if (1..=MAX_LIMIT).contains(&n) => n,
            Some(_) => {
                return Err(Error::BadRequest(format!(
                    "limit must be between 1 and {MAX_LIMIT}"
                )));
            }
        };
        let after = cursor
            .map(|c| {
                Uuid::parse_str(c)
                    .map_err(|_| Error::BadRequest("cursor is not one this server issued".into()))
            })
            .transpose()?;
        Ok(PageRequest { limit, after })
    }

    /// One page of `select`, ordered by its id column `id`.
    pub async fn fetch<E, C>(
        &self,
        db: &C,
        select: Select<E>,
        id: E::Column,
    ) -> Result<Page<E::Model>, DbErr>
    where
        E: EntityTrait,
        E::Model: ModelTrait<Entity = E>,
        C: ConnectionTrait,
    {
        let rows = self.window(select, id).all(db).await?;
        Ok(Page::from_rows(rows, self.limit, |m| uuid_of(m, id)))
    }

    /// `select` narrowed to this page and one row more, in `id` order: for selects read as
    /// tuples or partial models, whose rows then make the page with [`Page::from_rows`].
    pub fn window<E: EntityTrait>(&self, select: Select<E>, id: E::Column) -> Select<E> {
        let mut q = select.order_by_asc(id).limit(self.limit + 1);
        if let Some(after) = self.after {
            q = q.filter(id.gt(after));
        }
        q
    }
}

impl PageRequest {
    /// One page of the rows of `select` that `keep` accepts, for filters the databases cannot
    /// share (e.g. membership in a JSON list): the rows after the cursor are read in id order
    /// and filtered here.
    pub async fn fetch_filtered<E, C>(
        &self,
        db: &C,
        select: Select<E>,
        id: E::Column,
        keep: impl Fn(&E::Model) -> bool,
    ) -> Result<Page<E::Model>, DbErr>
    where
        E: EntityTrait,
        E::Model: ModelTrait<Entity = E>,
        C: ConnectionTrait,
    {
        let mut q = select.order_by_asc(id);
        if let Some(after) = self.after {
            q = q.filter(id.gt(after));
        }
        let rows: Vec<E::Model> = q
            .all(db)
            .await?
            .into_iter()
            .filter(|m| keep(m))
            .take(self.limit as usize + 1)
            .collect();
        Ok(Page::from_rows(rows, self.limit, |m| uuid_of(m, id)))
    }
}

/// The id of a model, read through its column.
fn uuid_of<M: ModelTrait>(m: &M, id: <M::Entity as EntityTrait>::Column) -> Uuid {
    match m.get(id) {
        sea_orm::Value::Uuid(Some(u)) => u,
        _ => Uuid::nil(),
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// Builds a page from up to `limit + 1` rows: the extra row only says there is more.
    pub fn from_rows(mut rows: Vec<T>, limit: u64, id: impl Fn(&T) -> Uuid) -> Self {
        let more = rows.len() as u64 > limit;
        rows.truncate(limit as usize);
        let next_cursor = if more {
            rows.last().map(|r| id(r).to_string())
        } else {
            None
        };
        Page {
            items: rows,
            next_cursor,
        }
    }

    /// The same page with each item mapped.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            next_cursor: self.next_cursor,
        }
    }

    /// The same page with its items replaced (e.g. rows turned into views in one batch).
    pub fn with_items<U>(self, items: Vec<U>) -> Page<U> {
        Page {
            items,
            next_cursor: self.next_cursor,
        }
    }
}
