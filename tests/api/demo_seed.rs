//! `murojiat demo seed --appeals N`: bulk demo appeals that the audit accepts, numbered the
//! way the agencies' records offices would number them.

use std::collections::{BTreeMap, HashSet};

use murojiat::demo::appeals::seed_appeals;
use murojiat::services::audit::{self, AuditReport};
use murojiat::services::reports;
use murojiat::store::entity::{appeal, registration_counter};
use sea_orm::{EntityTrait, QueryOrder};

use crate::support::reports::{stored_stints, stored_tallies};
use crate::support::spawn_app;

#[tokio::test]
async fn seeded_appeals_verify_and_are_numbered_per_agency_and_year_without_gaps() {
    let app = spawn_app().await;
    let config = app.app.settings.config_dir.clone();
    let first = seed_appeals(&app.app, &config, 150, 7, &|_| {}).await.unwrap();
    let second = seed_appeals(&app.app, &config, 90, 8, &|_| {}).await.unwrap();
    assert_eq!((first.appeals, second.appeals), (150, 90));
    assert_eq!(
        audit::verify(&app.app).await.unwrap(),
        AuditReport::Intact { appeals: 240, events: first.events + second.events }
    );

    let rows = appeal::Entity::find()
        .order_by_asc(appeal::Column::CreatedAt)
        .order_by_asc(appeal::Column::Id)
        .all(app.db.conn())
        .await
        .unwrap();
    assert_eq!(rows.len(), 240);

    // The seeder writes the report figures the timelines make: a rebuild changes nothing.
    let seeded = (stored_stints(&app).await, stored_tallies(&app).await);
    assert!(seeded.0.len() >= 240 && seeded.1.len() > 100, "stays and tallies are written");
    let rebuilt = reports::rebuild(&app.app).await.unwrap();
    assert_eq!(rebuilt.appeals, 240);
    assert_eq!((stored_stints(&app).await, stored_tallies(&app).await), seeded);
    let tracking: HashSet<&str> = rows.iter().map(|a| a.tracking_number.as_str()).collect();
    assert_eq!(tracking.len(), 240, "tracking numbers are unique");
    assert!(rows.iter().any(|a| a.language == "tg") && rows.iter().any(|a| a.language == "ru"));
    assert!(rows.iter().map(|a| a.status.as_str()).collect::<HashSet<_>>().len() >= 4, "statuses vary");
    assert!(rows.iter().map(|a| a.agency_id).collect::<HashSet<_>>().len() >= 5, "agencies vary");

    // Per agency and year, the numbers run 1, 2, 3, ... and the counter stands at the last.
    let mut numbers: BTreeMap<(uuid::Uuid, String), Vec<u64>> = BTreeMap::new();
    for a in &rows {
        let number = a.registration_number.as_deref().expect("every seeded appeal is registered");
        let mut parts = number.rsplitn(3, '-');
        let seq: u64 = parts.next().unwrap().parse().unwrap();
        let year = parts.next().unwrap().to_owned();
        numbers.entry((a.agency_id, year)).or_default().push(seq);
    }
    let counters = registration_counter::Entity::find().all(app.db.conn()).await.unwrap();
    for ((agency, year), mut seqs) in numbers {
        seqs.sort_unstable();
        assert_eq!(seqs, (1..=seqs.len() as u64).collect::<Vec<_>>(), "agency {agency} in {year}");
        let counter = counters.iter().find(|c| c.agency_id == agency && c.year.to_string() == year).unwrap();
        assert_eq!(counter.last as usize, seqs.len());
    }
}
