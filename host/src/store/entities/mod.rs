//! One sea-orm entity per table. Relations are followed by explicit queries in `store`.

pub mod api_token;
pub mod audit_event;
pub mod brand;
pub mod contract;
pub mod contract_version;
pub mod kol;
pub mod kol_account;
pub mod live_stat;
pub mod order;
pub mod order_refund;
pub mod platform_event;
pub mod plugin;
pub mod plugin_kv;
pub mod plugin_version;
pub mod poll_cursor;
pub mod product;
pub mod product_listing;
pub mod script;
pub mod session;
pub mod session_slot;
pub mod webhook_delivery;
