//! Schema migrations for Murojiat. Every migration runs on SQLite and PostgreSQL alike.
pub use sea_orm_migration::prelude::*;

pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![]
    }
}
