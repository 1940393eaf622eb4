//! Email: the transactional outbox (every email is a row written in the same transaction as
//! the change that caused it, delivered later by the outbox worker), the single-use tokens
//! of the account flows that send mail (email verification, password reset), and each
//! account's choice about optional mail.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use super::m20261130_000001_accounts::Users;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261201_000006_outbox"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Outbox::Table)
                    .col(pk_uuid(Outbox::Id))
                    // The event (or account flow) and the recipient: a second write of the
                    // same notice is a no-op.
                    .col(string_len_uniq(Outbox::DedupeKey, 200))
                    .col(string_len(Outbox::RecipientEmail, 254))
                    .col(string_len(Outbox::RecipientName, 800))
                    .col(string_len(Outbox::Locale, 2))
                    .col(string_len(Outbox::TimeZone, 64))
                    .col(string_len(Outbox::Template, 48))
                    .col(text(Outbox::Data))
                    // Legal notices are never dropped by the hourly cap, only delayed.
                    .col(boolean(Outbox::Essential))
                    .col(uuid_null(Outbox::AppealId))
                    .col(string_len(Outbox::Status, 16))
                    .col(integer(Outbox::Attempts))
                    // When the row is next due: for a pending or failed row its next attempt,
                    // for a row being sent the end of the sender's lease (a sender that died
                    // leaves the row to be claimed again after it).
                    .col(timestamp_with_time_zone(Outbox::NextAttemptAt))
                    .col(text_null(Outbox::LastError))
                    .col(string_len(Outbox::MessageId, 200))
                    .col(timestamp_with_time_zone(Outbox::CreatedAt))
                    .col(timestamp_with_time_zone_null(Outbox::SentAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_outbox_due")
                    .table(Outbox::Table)
                    .col(Outbox::Status)
                    .col(Outbox::NextAttemptAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_outbox_recipient_sent")
                    .table(Outbox::Table)
                    .col(Outbox::RecipientEmail)
                    .col(Outbox::SentAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_outbox_appeal")
                    .table(Outbox::Table)
                    .col(Outbox::AppealId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AccountTokens::Table)
                    .col(pk_uuid(AccountTokens::Id))
                    .col(uuid(AccountTokens::UserId))
                    .col(string_len(AccountTokens::Purpose, 16))
                    // SHA-256 of the token; the token itself only ever exists in the email.
                    .col(string_len_uniq(AccountTokens::TokenHash, 64))
                    .col(timestamp_with_time_zone(AccountTokens::ExpiresAt))
                    .col(timestamp_with_time_zone_null(AccountTokens::UsedAt))
                    .col(timestamp_with_time_zone(AccountTokens::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(AccountTokens::Table, AccountTokens::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    .add_column(boolean(Alias::new("optional_mail")).default(true))
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter().table(Users::Table).drop_column(Alias::new("optional_mail")).to_owned(),
            )
            .await?;
        manager.drop_table(Table::drop().table(AccountTokens::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(Outbox::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum Outbox {
    Table,
    Id,
    DedupeKey,
    RecipientEmail,
    RecipientName,
    Locale,
    TimeZone,
    Template,
    Data,
    Essential,
    AppealId,
    Status,
    Attempts,
    NextAttemptAt,
    LastError,
    MessageId,
    CreatedAt,
    SentAt,
}

#[derive(DeriveIden)]
enum AccountTokens {
    Table,
    Id,
    UserId,
    Purpose,
    TokenHash,
    ExpiresAt,
    UsedAt,
    CreatedAt,
}
