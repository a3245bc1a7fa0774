//! Every value kolhost keeps sealed at rest (KOL ID numbers, plugin secrets): checked against
//! the server's key at start, and re-sealed under a new key by `kolhost secrets rotate`.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, Set,
};
use serde::Serialize;
use uuid::Uuid;

use super::entities::kol;
use super::plugins::{open_settings, reseal_secrets, seal_plain_secrets, sealed_error};
use super::secrets::SecretBox;
use crate::domain::Actor;

/// What a rotation re-sealed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Rotated {
    /// KOLs whose ID number was re-sealed.
    pub kol_id_numbers: usize,
    /// Plugins whose secrets were re-sealed.
    pub plugin_secrets: usize,
}

/// Re-seals every sealed value from `old` to `new` in one transaction, audited as
/// `secrets.rotate`: either everything is under the new key afterwards, or (any value not
/// opening with `old`, any write failing) nothing changed. Plain plugin secrets left from before
/// sealing are sealed under `new` on the way.
pub async fn rotate(
    db: &DatabaseConnection,
    old: &SecretBox,
    new: &SecretBox,
) -> Result<Rotated, DbErr> {
    let txn = super::write_txn(db).await?;
    let kols = kol::Entity::find()
        .filter(kol::Column::IdNumberSealed.is_not_null())
        .all(&txn)
        .await?;
    let kol_id_numbers = kols.len();
    for k in kols {
        let id = k.id;
        let sealed = k.id_number_sealed.clone().unwrap_or_default();
        let number = old
            .open(&sealed, id.as_bytes())
            .map_err(|e| sealed_error(&format!("KOL {id}'s ID number"), e))?;
        let mut am: kol::ActiveModel = k.into();
        am.id_number_sealed = Set(Some(new.seal(&number, id.as_bytes())));
        am.update(&txn).await?;
    }
    let plugin_secrets = reseal_secrets(&txn, old, new).await?;
    let rotated = Rotated {
        kol_id_numbers,
        plugin_secrets,
    };
    super::audit::wrote(
        &txn,
        &Actor::system("kolhost secrets rotate"),
        "secrets.rotate",
        ("server", Uuid::nil()),
        &rotated,
    )
    .await?;
    txn.commit().await?;
    Ok(rotated)
}

/// Seals plain plugin secrets left from before sealing, then checks that `secrets` opens what
/// the database holds sealed (every plugin's secrets and a KOL ID number), so that a server
/// started with the wrong key stops at once, naming the value that does not open.
pub async fn prepare(db: &DatabaseConnection, secrets: &SecretBox) -> Result<(), DbErr> {
    let txn = super::write_txn(db).await?;
    let sealed = seal_plain_secrets(&txn, secrets).await?;
    txn.commit().await?;
    if sealed > 0 {
        tracing::info!(plugins = sealed, "plain plugin secrets sealed at rest");
    }
    for p in super::entities::plugin::Entity::find()
        .filter(super::entities::plugin::Column::SecretsSealed.is_not_null())
        .all(db)
        .await?
    {
        open_settings(&p, secrets)?;
    }
    if let Some(k) = kol::Entity::find()
        .filter(kol::Column::IdNumberSealed.is_not_null())
        .one(db)
        .await?
    {
        let sealed = k.id_number_sealed.as_deref().unwrap_or_default();
        secrets
            .open(sealed, k.id.as_bytes())
            .map_err(|e| sealed_error(&format!("KOL {}'s ID number", k.id), e))?;
    }
    Ok(())
}
