//! The agency's roster: brands, KOLs (with their platform accounts) and products (with their
//! platform listings).

pub mod brands;
mod handles;
pub mod kols;
pub mod product_sheets;
pub mod products;
mod sheet;

use crate::domain::Validator;

/// Categories are short lowercase slugs (`food`, `home_textiles`, `womens_fashion`, `beauty`, ...).
pub fn validate_categories(v: &mut Validator, categories: &[String], field: &str) {
    v.max_items(categories.len(), field, 32);
    for (i, c) in categories.iter().enumerate() {
        v.slug(c, format!("{field}[{i}]"));
        if categories[..i].contains(c) {
            v.error_code(format!("{field}[{i}]"), "duplicate", "is listed twice");
        }
    }
}
