//! `?limit=&cursor=` as a query extractor; the paging itself is `service::pagination`.

use serde::Deserialize;
use utoipa::IntoParams;

use super::error::ApiResult;
pub use crate::service::pagination::{Page, PageRequest};

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Items per page (1 to 500, default 50).
    pub limit: Option<u64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl PageParams {
    pub fn request(&self) -> ApiResult<PageRequest> {
        PageRequest::parse(self.limit, self.cursor.as_deref())
    }
}
