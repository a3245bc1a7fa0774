//! The strategies shipped in `scripts/`, compiled into the binary so a fresh server has them.

/// A bundled strategy: its script name and source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BundledScript {
    pub name: &'static str,
    pub source: &'static str,
}

pub const PYRAMID: BundledScript = BundledScript {
    name: "pyramid.lua",
    source: include_str!("../../../scripts/pyramid.lua"),
};
pub const ROUND_ROBIN_FAIR: BundledScript = BundledScript {
    name: "round_robin_fair.lua",
    source: include_str!("../../../scripts/round_robin_fair.lua"),
};
pub const CLEARANCE: BundledScript = BundledScript {
    name: "clearance.lua",
    source: include_str!("../../../scripts/clearance.lua"),
};

/// All bundled strategies, loaded at start (a stored script of the same name takes precedence).
pub const ALL: [BundledScript; 3] = [PYRAMID, ROUND_ROBIN_FAIR, CLEARANCE];

/// The demo agency fixture (`scripts/fixtures/demo.json`).
pub const DEMO_FIXTURE: &str = include_str!("../../../scripts/fixtures/demo.json");

/// Looks a bundled strategy up by name, with or without `.lua`.
pub fn find(name: &str) -> Option<BundledScript> {
    ALL.into_iter()
        .find(|s| s.name == name || s.name.strip_suffix(".lua") == Some(name))
}
