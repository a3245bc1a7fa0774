//! Deterministic synthetic agencies of any size, for benchmarks and scale tests.

use chrono::{DateTime, Duration, TimeZone, Utc};

use crate::domain::allocation::{
    AllocationContext, Contract, ContractStatus, Kol, KolAccount, Product, ProductRole, Session,
    TaxStatus, Tier,
};

/// splitmix64: small, fast and stable across versions (unlike a crate's default generator).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo + 1) as u64) as i64
    }
}

fn uuid(kind: u8, n: u64) -> String {
    // A valid-looking, deterministic UUID (version 4 layout) per kind and number.
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        u32::from(kind) << 24 | (n >> 32) as u32,
        (n >> 16) & 0xffff,
        n & 0xfff,
        u64::from(kind),
        n
    )
}

pub const CATEGORIES: [&str; 4] = ["food", "home_textiles", "womens_fashion", "beauty"];
pub const PLATFORMS: [&str; 3] = ["taobao", "douyin", "kuaishou"];

/// An agency with `n_products` products (50 per brand) and `n_kols` KOLs (5% head, 25% waist,
/// 70% tail); each brand holds ~25 contracts, each KOL 2-3 sessions in December 2026.
pub fn agency(n_products: usize, n_kols: usize, seed: u64) -> AllocationContext {
    let mut rng = Rng(seed);
    let base: DateTime<Utc> = Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap();
    let n_brands = n_products.div_ceil(50).max(1);

    let mut kols = Vec::with_capacity(n_kols);
    for i in 0..n_kols {
        let tier = match i * 100 / n_kols.max(1) {
            0..5 => Tier::Head,
            5..30 => Tier::Waist,
            _ => Tier::Tail,
        };
        let (lo, hi) = match tier {
            Tier::Head => (5_000_000, 50_000_000),
            Tier::Waist => (300_000, 5_000_000),
            Tier::Tail => (10_000, 300_000),
        };
        let n_cats = rng.range(1, 3) as usize;
        let first = rng.below(4) as usize;
        let categories = (0..n_cats)
            .map(|j| CATEGORIES[(first + j) % 4].to_string())
            .collect();
        let first_p = rng.below(3) as usize;
        let accounts = (0..rng.range(1, 2) as usize)
            .map(|j| KolAccount {
                platform: PLATFORMS[(first_p + j) % 3].to_string(),
                account_id: format!("acct-{i}-{j}"),
                followers: rng.range(lo, hi),
            })
            .collect();
        kols.push(Kol {
            id: uuid(1, i as u64),
            name: format!("KOL {i}"),
            tier,
            categories,
            accounts,
            revenue_share_bp: rng.range(3000, 7000),
            tax_status: if rng.below(3) == 0 {
                TaxStatus::Individual
            } else {
                TaxStatus::Company
            },
        });
    }

    let mut products = Vec::with_capacity(n_products);
    for i in 0..n_products {
        let role = match rng.below(10) {
            0..2 => ProductRole::Launch,
            2..5 => ProductRole::Traffic,
            _ => ProductRole::Profit,
        };
        let list = rng.range(19, 2_999) * 100;
        products.push(Product {
            id: uuid(2, i as u64),
            brand_id: uuid(3, (i / 50) as u64),
            sku: format!("SKU-{i:05}"),
            name: format!("Product {i}"),
            category: CATEGORIES[rng.below(4) as usize].to_string(),
            role,
            list_price_fen: list,
            floor_price_fen: list * rng.range(55, 85) / 100,
            stock_units: rng.range(200, 5_000),
        });
    }

    let mut sessions = Vec::new();
    for (i, k) in kols.iter().enumerate() {
        let capacity = match k.tier {
            Tier::Head => 60,
            Tier::Waist => 40,
            Tier::Tail => 25,
        };
        for (j, a) in k.accounts.iter().enumerate() {
            let n = if j == 0 { 2 } else { 1 };
            for m in 0..n {
                let start =
                    base + Duration::days(rng.range(0, 27)) + Duration::hours(rng.range(10, 20));
                sessions.push(Session {
                    id: uuid(4, (i * 10 + j * 3 + m) as u64),
                    kol_id: k.id.clone(),
                    platform: a.platform.clone(),
                    starts_at: start,
                    ends_at: start + Duration::hours(4),
                    status: "scheduled".to_string(),
                    slot_capacity: capacity,
                    lineup: Vec::new(),
                });
            }
        }
    }

    let tiers: [Vec<usize>; 3] = [Tier::Head, Tier::Waist, Tier::Tail]
        .map(|t| (0..kols.len()).filter(|&i| kols[i].tier == t).collect());
    let mut contracts = Vec::new();
    for b in 0..n_brands {
        for (t, count) in [(0usize, 3u64), (1, 7), (2, 15)] {
            if tiers[t].is_empty() {
                continue;
            }
            for _ in 0..count {
                let k = &kols[tiers[t][rng.below(tiers[t].len() as u64) as usize]];
                let a = &k.accounts[rng.below(k.accounts.len() as u64) as usize];
                let status = match rng.below(20) {
                    0 => ContractStatus::Proposed,
                    1 => ContractStatus::Draft,
                    2 => ContractStatus::Completed,
                    3..10 => ContractStatus::Signed,
                    _ => ContractStatus::Active,
                };
                let ends = if rng.below(20) == 0 {
                    base + Duration::days(10)
                } else {
                    base + Duration::days(60)
                };
                contracts.push(Contract {
                    id: uuid(5, contracts.len() as u64),
                    brand_id: uuid(3, b as u64),
                    kol_id: k.id.clone(),
                    platform: a.platform.clone(),
                    status,
                    starts_at: base - Duration::days(30),
                    ends_at: ends,
                    slot_fee_fen: rng.range(0, 50) * 100_000,
                    commission_bp: rng.range(500, 3000),
                    lowest_price_clause: rng.below(4) == 0,
                    exclusive: false,
                });
            }
        }
    }

    AllocationContext {
        products,
        kols,
        contracts,
        sessions,
        params: serde_json::json!({}),
    }
}
