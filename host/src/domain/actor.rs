//! Who is acting (design §3): a token's role and, for brand and KOL tokens, whose it is.
//! Every layer below HTTP takes an [`Actor`]; the HTTP shell only builds one from a bearer token.

use uuid::Uuid;

use super::Role;

/// Roles that see everything (the agency's own staff).
pub const STAFF: &[Role] = &[Role::Admin, Role::Manager, Role::Integrator, Role::Scripter];
/// Roles that change the roster, contracts and sessions.
pub const MANAGERS: &[Role] = &[Role::Admin, Role::Manager];
/// Roles that write and run allocation scripts.
pub const SCRIPTERS: &[Role] = &[Role::Admin, Role::Manager, Role::Scripter];
/// Roles that manage plugins.
pub const INTEGRATORS: &[Role] = &[Role::Admin, Role::Integrator];

/// Who is acting.
#[derive(Debug, Clone)]
pub struct Actor {
    pub token_id: Option<Uuid>,
    pub name: String,
    pub role: Role,
    pub brand_id: Option<Uuid>,
    pub kol_id: Option<Uuid>,
}

/// What an actor may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    All,
    Brand(Uuid),
    Kol(Uuid),
}

/// An actor whose role may not do what it asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the {role} role may not do this")]
pub struct NotAllowed {
    pub role: Role,
}

impl Actor {
    /// The server itself, for work it does on its own (demo data, migrations).
    pub fn system(name: &str) -> Self {
        Actor {
            token_id: None,
            name: name.into(),
            role: Role::Admin,
            brand_id: None,
            kol_id: None,
        }
    }

    pub fn require(&self, roles: &[Role]) -> Result<(), NotAllowed> {
        if roles.contains(&self.role) {
            Ok(())
        } else {
            Err(NotAllowed { role: self.role })
        }
    }

    pub fn scope(&self) -> Scope {
        match (self.role, self.brand_id, self.kol_id) {
            (Role::Brand, Some(b), _) => Scope::Brand(b),
            (Role::Kol, _, Some(k)) => Scope::Kol(k),
            // A brand or KOL token without its id is refused at creation; never widen it here.
            (Role::Brand | Role::Kol, _, _) => Scope::Brand(Uuid::nil()),
            _ => Scope::All,
        }
    }

    /// Whether a contract between `brand_id` and `kol_id` is visible to this actor.
    pub fn sees_contract(&self, brand_id: Uuid, kol_id: Uuid) -> bool {
        match self.scope() {
            Scope::All => true,
            Scope::Brand(b) => b == brand_id,
            Scope::Kol(k) => k == kol_id,
        }
    }
}
