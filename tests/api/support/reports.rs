//! What the deadline reports store: the stays and the monthly tallies, read back in a
//! stable order to compare a maintained state with a rebuilt one.

use murojiat::store::entity::{appeal_stint, report_tally};
use sea_orm::{EntityTrait, QueryOrder};

use super::TestApp;

/// Every stored stay, in a stable order.
pub async fn stored_stints(app: &TestApp) -> Vec<appeal_stint::Model> {
    appeal_stint::Entity::find()
        .order_by_asc(appeal_stint::Column::AppealId)
        .order_by_asc(appeal_stint::Column::Seq)
        .all(app.db.conn())
        .await
        .unwrap()
}

/// Every stored tally that counts anything, in key order (a change can leave a row at zero;
/// a rebuild writes none).
pub async fn stored_tallies(app: &TestApp) -> Vec<report_tally::Model> {
    let rows = report_tally::Entity::find()
        .order_by_asc(report_tally::Column::Grouping)
        .order_by_asc(report_tally::Column::Month)
        .order_by_asc(report_tally::Column::AgencyId)
        .order_by_asc(report_tally::Column::GroupKey)
        .order_by_asc(report_tally::Column::AnswerDays)
        .all(app.db.conn())
        .await
        .unwrap();
    let counts = |r: &report_tally::Model| {
        [r.received, r.extensions, r.answered, r.answered_on_time, r.forwarded_out, r.dismissed, r.missed]
    };
    rows.into_iter().filter(|r| counts(r) != [0; 7]).collect()
}
