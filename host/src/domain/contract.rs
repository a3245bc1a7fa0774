//! Contract terms and lifecycle (design §1).
//!
//! `draft -> proposed -> signed -> active -> completed`; `draft|proposed -> cancelled`;
//! `signed|active -> terminated`. Terms change in place only while draft or proposed;
//! afterwards only by an amendment, which makes a new version.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{ContractStatus, GuaranteeRemedy, Validator};

/// The negotiable terms of a contract: what a version records and an amendment changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ContractTerms {
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub slot_fee_fen: i64,
    pub commission_bp: i64,
    pub gmv_guarantee_fen: Option<i64>,
    pub guarantee_remedy: GuaranteeRemedy,
    pub exclusive: bool,
    pub lowest_price_clause: bool,
    pub sessions_committed: i64,
}

impl ContractTerms {
    pub fn validate(&self, v: &mut Validator) {
        v.after(self.ends_at, self.starts_at, "ends_at", "starts_at");
        v.fen(self.slot_fee_fen, "slot_fee_fen");
        v.basis_points(self.commission_bp, "commission_bp");
        match self.gmv_guarantee_fen {
            Some(g) => {
                v.fen(g, "gmv_guarantee_fen");
                v.check(
                    g > 0,
                    "gmv_guarantee_fen",
                    "not_positive",
                    "must be positive, or null for no guarantee",
                );
                v.check(
                    self.guarantee_remedy != GuaranteeRemedy::None,
                    "guarantee_remedy",
                    "remedy_required",
                    "a GMV guarantee needs a remedy",
                );
            }
            None => v.check(
                self.guarantee_remedy == GuaranteeRemedy::None,
                "guarantee_remedy",
                "remedy_without_guarantee",
                "must be none without a GMV guarantee",
            ),
        }
        v.in_range(self.sessions_committed, "sessions_committed", 0, 1000);
    }
}

impl ContractStatus {
    /// The states this one may move to.
    pub fn next_states(self) -> &'static [ContractStatus] {
        use ContractStatus::*;
        match self {
            Draft => &[Proposed, Cancelled],
            Proposed => &[Signed, Cancelled],
            Signed => &[Active, Terminated],
            Active => &[Completed, Terminated],
            Completed | Cancelled | Terminated => &[],
        }
    }

    pub fn can_become(self, to: ContractStatus) -> bool {
        self.next_states().contains(&to)
    }

    /// Terms may be edited in place (no new version) only before signing.
    pub fn terms_editable(self) -> bool {
        matches!(self, ContractStatus::Draft | ContractStatus::Proposed)
    }

    /// Amendments are how a signed agreement changes.
    pub fn amendable(self) -> bool {
        matches!(self, ContractStatus::Signed | ContractStatus::Active)
    }

    /// A contract in force: products may be allocated and orders attributed under it.
    pub fn in_force(self) -> bool {
        matches!(self, ContractStatus::Signed | ContractStatus::Active)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ContractStatus::*;

    fn terms() -> ContractTerms {
        ContractTerms {
            starts_at: "2026-12-01T00:00:00Z".parse().unwrap(),
            ends_at: "2027-01-01T00:00:00Z".parse().unwrap(),
            slot_fee_fen: 5_000_000,
            commission_bp: 2000,
            gmv_guarantee_fen: None,
            guarantee_remedy: GuaranteeRemedy::None,
            exclusive: false,
            lowest_price_clause: true,
            sessions_committed: 2,
        }
    }

    #[test]
    fn lifecycle_follows_the_design() {
        assert!(Draft.can_become(Proposed));
        assert!(Proposed.can_become(Signed));
        assert!(Signed.can_become(Active));
        assert!(Active.can_become(Completed));
        assert!(Draft.can_become(Cancelled) && Proposed.can_become(Cancelled));
        assert!(Signed.can_become(Terminated) && Active.can_become(Terminated));
        assert!(!Draft.can_become(Completed));
        assert!(!Draft.can_become(Signed));
        assert!(!Signed.can_become(Cancelled));
        for end in [Completed, Cancelled, Terminated] {
            assert!(end.next_states().is_empty());
        }
    }

    #[test]
    fn terms_are_checked() {
        let mut v = Validator::new();
        terms().validate(&mut v);
        assert!(v.is_empty());

        let mut bad = terms();
        bad.commission_bp = 20_000;
        bad.ends_at = bad.starts_at;
        bad.gmv_guarantee_fen = Some(100);
        let mut v = Validator::new();
        bad.validate(&mut v);
        let fields: Vec<_> = v
            .finish()
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(fields, ["ends_at", "commission_bp", "guarantee_remedy"]);
    }
}
