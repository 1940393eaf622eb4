//! Reference data (territories, categories), appeals, their hash-chained timeline,
//! attachments, per-agency registration counters and idempotency keys.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use super::m20261130_000001_accounts::{Agencies, Users};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261130_000002_appeals"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (table, parent, kind) in [
            (Territories::Table.into_iden(), Territories::ParentCode.into_iden(), true),
            (Categories::Table.into_iden(), Categories::ParentCode.into_iden(), false),
        ] {
            let mut create = Table::create();
            create
                .table(table.clone())
                .col(string_len(Alias::new("code"), 64).primary_key())
                .col(string_len_null(parent, 64))
                .col(string_len(Alias::new("name_tg"), 300))
                .col(string_len(Alias::new("name_ru"), 300))
                .col(string_len(Alias::new("name_en"), 300))
                .col(boolean(Alias::new("active")));
            if kind {
                create.col(string_len(Alias::new("kind"), 32));
            }
            manager.create_table(create.to_owned()).await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(Appeals::Table)
                    .col(pk_uuid(Appeals::Id))
                    .col(string_len_uniq(Appeals::TrackingNumber, 16))
                    .col(string_len_null(Appeals::AccessCodeHash, 64))
                    .col(string_len(Appeals::Kind, 16))
                    .col(string_len(Appeals::Status, 24))
                    .col(string_len(Appeals::Channel, 16))
                    .col(string_len(Appeals::Subject, 1200))
                    .col(text(Appeals::Body))
                    .col(string_len(Appeals::CategoryCode, 64))
                    .col(string_len(Appeals::RegionCode, 64))
                    .col(string_len_null(Appeals::DistrictCode, 64))
                    .col(double_null(Appeals::Lat))
                    .col(double_null(Appeals::Lon))
                    .col(integer(Appeals::CoSignersCount))
                    .col(text_null(Appeals::CoSignersNames))
                    .col(string_len(Appeals::ApplicantType, 16))
                    .col(string_len_null(Appeals::LegalEntityName, 1200))
                    .col(string_len_null(Appeals::LegalEntityTaxId, 16))
                    .col(string_len(Appeals::Language, 2))
                    .col(uuid_null(Appeals::CitizenId))
                    .col(string_len_null(Appeals::ContactName, 800))
                    .col(string_len_null(Appeals::ContactEmail, 254))
                    .col(string_len_null(Appeals::ContactAddress, 2000))
                    .col(uuid_null(Appeals::EnteredBy))
                    .col(uuid(Appeals::AgencyId))
                    .col(uuid_null(Appeals::AssigneeId))
                    .col(string_len_null(Appeals::RegistrationNumber, 96))
                    .col(string_len(Appeals::Priority, 8))
                    .col(string_len(Appeals::DeadlinePolicy, 64))
                    .col(integer_null(Appeals::RulesetVersion))
                    .col(string_len_null(Appeals::RuleId, 128))
                    .col(timestamp_with_time_zone(Appeals::RegisteredAt))
                    .col(timestamp_with_time_zone(Appeals::DueAt))
                    .col(timestamp_with_time_zone_null(Appeals::PausedAt))
                    .col(integer(Appeals::ExtensionsGranted))
                    .col(string_len_null(Appeals::Outcome, 24))
                    .col(text_null(Appeals::AnswerText))
                    .col(timestamp_with_time_zone_null(Appeals::AnsweredAt))
                    .col(string_len_null(Appeals::DismissalReason, 48))
                    .col(timestamp_with_time_zone_null(Appeals::ClosedAt))
                    .col(integer(Appeals::Version))
                    .col(timestamp_with_time_zone(Appeals::CreatedAt))
                    .col(timestamp_with_time_zone(Appeals::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Appeals::Table, Appeals::AgencyId)
                            .to(Agencies::Table, Agencies::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Appeals::Table, Appeals::CitizenId)
                            .to(Users::Table, Users::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Appeals::Table, Appeals::AssigneeId)
                            .to(Users::Table, Users::Id),
                    )
                    .to_owned(),
            )
            .await?;
        // The queries that run all day: an agency's open queue by due date, a citizen's own
        // appeals newest first, the due-soon and overdue sweeps.
        for (name, cols) in [
            ("idx_appeals_queue", vec![Appeals::AgencyId, Appeals::Status, Appeals::DueAt, Appeals::Id]),
            ("idx_appeals_queue_created", vec![Appeals::AgencyId, Appeals::CreatedAt, Appeals::Id]),
            ("idx_appeals_citizen", vec![Appeals::CitizenId, Appeals::CreatedAt]),
            ("idx_appeals_status_due", vec![Appeals::Status, Appeals::DueAt]),
            ("idx_appeals_assignee", vec![Appeals::AssigneeId, Appeals::Status]),
        ] {
            let mut index = Index::create();
            index.name(name).table(Appeals::Table);
            for col in cols {
                index.col(col);
            }
            manager.create_index(index.to_owned()).await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(AppealEvents::Table)
                    .col(pk_uuid(AppealEvents::Id))
                    .col(uuid(AppealEvents::AppealId))
                    .col(integer(AppealEvents::Seq))
                    .col(timestamp_with_time_zone(AppealEvents::At))
                    .col(uuid_null(AppealEvents::ActorId))
                    .col(string_len(AppealEvents::ActorRole, 16))
                    .col(string_len(AppealEvents::Action, 32))
                    .col(string_len(AppealEvents::Visibility, 16))
                    .col(string_len(AppealEvents::StatusBefore, 24))
                    .col(string_len(AppealEvents::StatusAfter, 24))
                    .col(text(AppealEvents::Data))
                    .col(string_len(AppealEvents::PrevHash, 64))
                    .col(string_len(AppealEvents::Hash, 64))
                    .foreign_key(
                        ForeignKey::create()
                            .from(AppealEvents::Table, AppealEvents::AppealId)
                            .to(Appeals::Table, Appeals::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_appeal_events_seq")
                    .table(AppealEvents::Table)
                    .col(AppealEvents::AppealId)
                    .col(AppealEvents::Seq)
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Attachments::Table)
                    .col(pk_uuid(Attachments::Id))
                    .col(uuid(Attachments::AppealId))
                    .col(string_len(Attachments::FileName, 255))
                    .col(string_len(Attachments::ContentType, 128))
                    .col(big_integer(Attachments::SizeBytes))
                    .col(string_len(Attachments::Sha256, 64))
                    .col(uuid_null(Attachments::UploadedBy))
                    .col(string_len(Attachments::Visibility, 16))
                    .col(timestamp_with_time_zone(Attachments::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Attachments::Table, Attachments::AppealId)
                            .to(Appeals::Table, Appeals::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_attachments_appeal")
                    .table(Attachments::Table)
                    .col(Attachments::AppealId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(RegistrationCounters::Table)
                    .col(uuid(RegistrationCounters::AgencyId))
                    .col(integer(RegistrationCounters::Year))
                    .col(big_integer(RegistrationCounters::Last))
                    .primary_key(
                        Index::create().col(RegistrationCounters::AgencyId).col(RegistrationCounters::Year),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(IdempotencyKeys::Table)
                    // Who the key belongs to (a user id, or the guest's address) plus the key.
                    .col(string_len(IdempotencyKeys::Scope, 96))
                    .col(string_len(IdempotencyKeys::Key, 255))
                    .col(string_len(IdempotencyKeys::RequestHash, 64))
                    .col(integer(IdempotencyKeys::ResponseStatus))
                    .col(text(IdempotencyKeys::ResponseBody))
                    .col(timestamp_with_time_zone(IdempotencyKeys::CreatedAt))
                    .primary_key(Index::create().col(IdempotencyKeys::Scope).col(IdempotencyKeys::Key))
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            IdempotencyKeys::Table.into_iden(),
            RegistrationCounters::Table.into_iden(),
            Attachments::Table.into_iden(),
            AppealEvents::Table.into_iden(),
            Appeals::Table.into_iden(),
            Categories::Table.into_iden(),
            Territories::Table.into_iden(),
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Territories {
    Table,
    ParentCode,
}

#[derive(DeriveIden)]
enum Categories {
    Table,
    ParentCode,
}

#[derive(DeriveIden)]
pub(crate) enum Appeals {
    Table,
    Id,
    TrackingNumber,
    AccessCodeHash,
    Kind,
    Status,
    Channel,
    Subject,
    Body,
    CategoryCode,
    RegionCode,
    DistrictCode,
    Lat,
    Lon,
    CoSignersCount,
    CoSignersNames,
    ApplicantType,
    LegalEntityName,
    LegalEntityTaxId,
    Language,
    CitizenId,
    ContactName,
    ContactEmail,
    ContactAddress,
    EnteredBy,
    AgencyId,
    AssigneeId,
    RegistrationNumber,
    Priority,
    DeadlinePolicy,
    RulesetVersion,
    RuleId,
    RegisteredAt,
    DueAt,
    PausedAt,
    ExtensionsGranted,
    Outcome,
    AnswerText,
    AnsweredAt,
    DismissalReason,
    ClosedAt,
    Version,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum AppealEvents {
    Table,
    Id,
    AppealId,
    Seq,
    At,
    ActorId,
    ActorRole,
    Action,
    Visibility,
    StatusBefore,
    StatusAfter,
    Data,
    PrevHash,
    Hash,
}

#[derive(DeriveIden)]
enum Attachments {
    Table,
    Id,
    AppealId,
    FileName,
    ContentType,
    SizeBytes,
    Sha256,
    UploadedBy,
    Visibility,
    CreatedAt,
}

#[derive(DeriveIden)]
enum RegistrationCounters {
    Table,
    AgencyId,
    Year,
    Last,
}

#[derive(DeriveIden)]
enum IdempotencyKeys {
    Table,
    Scope,
    Key,
    RequestHash,
    ResponseStatus,
    ResponseBody,
    CreatedAt,
}
