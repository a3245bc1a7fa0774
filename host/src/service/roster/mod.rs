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
    v.check(categories.len() <= 32, field, "at most 32 categories");
    for (i, c) in categories.iter().enumerate() {
        v.check(
            is_slug(c),
            format!("{field}[{i}]"),
            "must be a lowercase slug of a-z, 0-9 and _ (1 to 40 characters)",
        );
        if categories[..i].contains(c) {
            v.error(format!("{field}[{i}]"), "is listed twice");
        }
    }
}

pub fn is_slug(s: &str) -> bool {
    (1..=40).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}
