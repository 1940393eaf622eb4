//! The roles a user account can hold.

use super::appeal::vocabulary;

vocabulary! {
    /// What a signed-in user is. Officials and supervisors belong to an agency.
    Role {
        Citizen = "citizen",
        Official = "official",
        Supervisor = "supervisor",
        Admin = "admin",
    }
}

impl Role {
    /// Whether this role works an agency's appeals (and so must belong to an agency).
    pub const fn is_staff(self) -> bool {
        matches!(self, Role::Official | Role::Supervisor)
    }
}
