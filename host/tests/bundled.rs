//! Bundled plugins are installed at start as stored versions: once per build, upgraded when a
//! new build ships, and never over an integrator's upload.

use kolhost::plugins::Manifest;
use kolhost::plugins::artifacts::{self, Bundled};
use kolhost::store::entities::{plugin, plugin_version};
use kolhost::store::{self, plugins as stored};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

const MANIFEST: &str =
    "name = \"shop\"\nversion = \"1.0.0\"\nworld = \"platform\"\ngrants = [\"config\"]\n";

/// The example platform component with a custom section appended: a different build.
fn build(tag: u8) -> &'static [u8] {
    let mut bytes = std::fs::read(artifacts::EXAMPLE_PLATFORM).unwrap();
    // custom section: id 0, size, name "kolhost-build" (13 bytes), one payload byte.
    bytes.extend_from_slice(&[0, 15, 13]);
    bytes.extend_from_slice(b"kolhost-build");
    bytes.push(tag);
    Box::leak(bytes.into_boxed_slice())
}

async fn state(db: &sea_orm::DatabaseConnection) -> (i32, Vec<(i32, bool, String)>) {
    let p = plugin::Entity::find_by_id("shop".to_owned())
        .one(db)
        .await
        .unwrap()
        .unwrap();
    let versions = plugin_version::Entity::find()
        .filter(plugin_version::Column::Name.eq("shop"))
        .order_by_asc(plugin_version::Column::Version)
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .map(|v| {
            (
                v.version,
                v.bundled,
                v.manifest["version"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    (p.active_version, versions)
}

#[tokio::test]
async fn bundled_builds_install_once_upgrade_and_yield_to_uploads() {
    let dir = tempfile::tempdir().unwrap();
    let db = store::connect(&format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("b.db").display()
    ))
    .await
    .unwrap();
    store::migrate(&db).await.unwrap();

    let v1 = [Bundled {
        manifest: MANIFEST,
        component: build(1),
    }];
    stored::install_bundled(&db, &v1).await.unwrap();
    stored::install_bundled(&db, &v1).await.unwrap();
    let (active, versions) = state(&db).await;
    assert_eq!(versions.len(), 1, "the same build is stored once");
    assert_eq!(active, 1);
    assert!(versions[0].1, "marked bundled");
    assert!(
        versions[0].2.starts_with("1.0.0+") && versions[0].2.len() == "1.0.0+".len() + 12,
        "{}",
        versions[0].2
    );

    // A new build ships: it becomes active.
    stored::install_bundled(
        &db,
        &[Bundled {
            manifest: MANIFEST,
            component: build(2),
        }],
    )
    .await
    .unwrap();
    let (active, versions) = state(&db).await;
    assert_eq!((active, versions.len()), (2, 2));
    assert_ne!(versions[0].2, versions[1].2);

    // An integrator uploads their own version; the next bundled build does not displace it.
    let upload = Manifest::from_toml(&MANIFEST.replace("1.0.0", "9.0.0")).unwrap();
    stored::save_version(&db, &upload, build(3), "integrator", stored::Origin::Upload)
        .await
        .unwrap();
    stored::install_bundled(
        &db,
        &[Bundled {
            manifest: MANIFEST,
            component: build(4),
        }],
    )
    .await
    .unwrap();
    let (active, versions) = state(&db).await;
    assert_eq!(versions.len(), 4);
    assert_eq!(active, 3, "the upload stays active");
    assert!(versions[3].1);

    // All of them load into a registry at start, the upload active.
    let registry = kolhost::app::AppState::start(db.clone(), kolhost::config::Config::default())
        .await
        .unwrap()
        .plugins;
    let status = registry.status("shop").unwrap();
    assert_eq!(status.version, "9.0.0");
    assert_eq!(status.versions.len(), 4);
}

#[tokio::test]
async fn the_platform_plugins_ship_in_the_binary() {
    let names: Vec<String> = artifacts::BUNDLED
        .iter()
        .map(|b| Manifest::from_toml(b.manifest).unwrap().name)
        .collect();
    for p in ["douyin", "kuaishou", "taobao"] {
        assert!(names.iter().any(|n| n == p), "{p} is bundled: {names:?}");
    }
}
