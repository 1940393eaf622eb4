//! argon2id password hashing, off the async runtime and bounded in parallelism, with a
//! dummy hash for unknown accounts so a login's timing does not reveal whether they exist.

use std::sync::Arc;

use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::RngCore;
use tokio::sync::Semaphore;

use crate::config::Argon2Settings;

/// A failure of the hashing machinery itself (never a wrong password).
#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("argon2 parameters rejected: {0}")]
    Params(String),
    #[error("hashing failed: {0}")]
    Hash(String),
    #[error("hashing task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// The outcome of checking a password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The password matches; `rehash` is true when the stored hash uses older parameters.
    Match {
        rehash: bool,
    },
    Mismatch,
}

/// Hashes and verifies passwords. Cheap to clone.
#[derive(Clone)]
pub struct PasswordHasher {
    params: Params,
    /// The `m=..,t=..,p=..` segment current hashes carry.
    params_segment: Arc<str>,
    permits: Arc<Semaphore>,
    dummy_hash: Arc<str>,
}

impl std::fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordHasher").field("params", &self.params_segment).finish()
    }
}

impl PasswordHasher {
    /// Builds the hasher and its dummy hash (one hash computed at start-up).
    pub fn new(settings: Argon2Settings) -> Result<Self, HashError> {
        let params = Params::new(settings.memory_kib, settings.iterations, settings.parallelism, None)
            .map_err(|e| HashError::Params(e.to_string()))?;
        let params_segment =
            format!("m={},t={},p={}", settings.memory_kib, settings.iterations, settings.parallelism);
        let dummy_hash = hash_blocking(&params, "murojiat-dummy-password")?;
        Ok(Self {
            params,
            params_segment: params_segment.into(),
            permits: Arc::new(Semaphore::new(settings.max_concurrent_hashes)),
            dummy_hash: dummy_hash.into(),
        })
    }

    /// Hashes a new password into a PHC string.
    pub async fn hash(&self, password: &str) -> Result<String, HashError> {
        let _permit = self.permits.acquire().await.expect("semaphore never closed");
        let params = self.params.clone();
        let password = password.to_owned();
        tokio::task::spawn_blocking(move || hash_blocking(&params, &password)).await?
    }

    /// Checks a password against a stored hash, or against the dummy hash when there is no
    /// account (`stored` is `None`), so both cases cost the same and both answer `Mismatch`.
    pub async fn verify(&self, password: &str, stored: Option<&str>) -> Result<Verdict, HashError> {
        let _permit = self.permits.acquire().await.expect("semaphore never closed");
        let known = stored.is_some();
        let stored = stored.map(str::to_owned).unwrap_or_else(|| self.dummy_hash.to_string());
        let password = password.to_owned();
        let current = self.params_segment.clone();
        tokio::task::spawn_blocking(move || {
            let matches = Argon2::default().verify_password(password.as_bytes(), stored.as_str()).is_ok();
            if matches && known {
                Verdict::Match { rehash: !is_current(&stored, &current) }
            } else {
                Verdict::Mismatch
            }
        })
        .await
        .map_err(HashError::from)
    }
}

fn hash_blocking(params: &Params, password: &str) -> Result<String, HashError> {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
        .hash_password_with_salt(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| HashError::Hash(e.to_string()))
}

/// A PHC string is `$argon2id$v=19$m=..,t=..,p=..$salt$hash`.
fn is_current(phc: &str, params_segment: &str) -> bool {
    let mut parts = phc.split('$').skip(1);
    parts.next() == Some("argon2id") && parts.next() == Some("v=19") && parts.next() == Some(params_segment)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cheap(memory_kib: u32) -> Argon2Settings {
        Argon2Settings { memory_kib, iterations: 1, parallelism: 1, max_concurrent_hashes: 2 }
    }

    #[tokio::test]
    async fn a_hash_verifies_its_password_only() {
        let hasher = PasswordHasher::new(cheap(1024)).unwrap();
        let hash = hasher.hash("correct horse battery").await.unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=1024,t=1,p=1$"));
        assert_eq!(
            hasher.verify("correct horse battery", Some(&hash)).await.unwrap(),
            Verdict::Match { rehash: false }
        );
        assert_eq!(hasher.verify("wrong", Some(&hash)).await.unwrap(), Verdict::Mismatch);
    }

    #[tokio::test]
    async fn an_unknown_account_never_matches_even_the_dummy_password() {
        let hasher = PasswordHasher::new(cheap(1024)).unwrap();
        assert_eq!(hasher.verify("murojiat-dummy-password", None).await.unwrap(), Verdict::Mismatch);
    }

    #[tokio::test]
    async fn a_hash_with_old_parameters_asks_to_be_rehashed() {
        let old = PasswordHasher::new(cheap(1024)).unwrap();
        let hash = old.hash("correct horse battery").await.unwrap();
        let new = PasswordHasher::new(cheap(2048)).unwrap();
        assert_eq!(
            new.verify("correct horse battery", Some(&hash)).await.unwrap(),
            Verdict::Match { rehash: true }
        );
    }
}
