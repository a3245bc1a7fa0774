//! The closed vocabularies of the domain. Each is stored as its snake_case name and
//! serialised the same way over the API.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Declares a string-valued enum with `as_str`, `parse`, `ALL` and serde/OpenAPI support.
macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $(#[serde(rename = $text)] $variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn parse(text: &str) -> Option<Self> {
                match text { $($text => Some($name::$variant),)+ _ => None }
            }

            /// The accepted names, for error messages.
            pub fn names() -> String {
                [$($text),+].join(", ")
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

string_enum!(
    /// A livestream platform.
    Platform { Taobao => "taobao", Douyin => "douyin", Kuaishou => "kuaishou" }
);

string_enum!(
    /// A KOL's place in the pyramid.
    Tier { Head => "head", Waist => "waist", Tail => "tail" }
);

string_enum!(
    /// What a product is for in a livestream.
    ProductRole { Launch => "launch", Traffic => "traffic", Profit => "profit" }
);

string_enum!(
    /// Whether a KOL is paid as a person (income tax withheld) or through a company.
    TaxStatus { Individual => "individual", Company => "company" }
);

string_enum!(
    /// How labour remuneration is withheld (design §6a): `per_month`, the month's income as one
    /// payment (the default); `cumulative`, the 2025 rule for platforms (income × 80% less 5,000
    /// yuan a month, cumulative over the tax year, 预扣率表一).
    TaxMethod { PerMonth => "per_month", Cumulative => "cumulative" }
);

string_enum!(
    /// The kind of identity document a KOL's tax identity names.
    IdType {
        ResidentIdCard => "resident_id_card",
        Passport => "passport",
        HkMacauPass => "hk_macau_pass",
        TaiwanPass => "taiwan_pass",
        ForeignPermanentResident => "foreign_permanent_resident",
    }
);

string_enum!(
    /// The contract lifecycle; see [`crate::domain::contract`].
    ContractStatus {
        Draft => "draft",
        Proposed => "proposed",
        Signed => "signed",
        Active => "active",
        Completed => "completed",
        Cancelled => "cancelled",
        Terminated => "terminated",
    }
);

string_enum!(
    /// What a brand is owed when a GMV guarantee is missed at the contract's end.
    GuaranteeRemedy {
        None => "none",
        SlotFeeRefundProRata => "slot_fee_refund_pro_rata",
        MakeGoodSession => "make_good_session",
    }
);

string_enum!(
    /// A livestream session's state.
    SessionStatus { Scheduled => "scheduled", Live => "live", Ended => "ended", Cancelled => "cancelled" }
);

string_enum!(
    /// Who holds an API token; see design §3.
    Role {
        Admin => "admin",
        Manager => "manager",
        Integrator => "integrator",
        Scripter => "scripter",
        Brand => "brand",
        Kol => "kol",
    }
);

#[allow(clippy::derivable_impls)] // the variants come from `string_enum!`
impl Default for TaxMethod {
    fn default() -> Self {
        TaxMethod::PerMonth
    }
}

impl SessionStatus {
    /// Sessions move forward only: scheduled -> live -> ended, or scheduled -> cancelled.
    pub fn can_become(self, to: SessionStatus) -> bool {
        use SessionStatus::*;
        matches!(
            (self, to),
            (Scheduled, Live) | (Scheduled, Cancelled) | (Live, Ended)
        )
    }
}
