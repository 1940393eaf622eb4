//! Access tokens (EdDSA-signed JWT with a key id) and refresh tokens (opaque, random,
//! stored only as a SHA-256 hash). Expiry is checked against the application's clock.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::{Algorithm, Header, Validation, decode, decode_header, encode};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::keys::KeyRing;
use crate::config::AuthSettings;
use crate::domain::role::Role;

/// What an access token says about its bearer.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    pub iss: String,
    pub aud: String,
    /// The user id.
    pub sub: Uuid,
    pub role: Role,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
}

/// Why a token was refused. Every variant is a 401 to the client; the distinction is for
/// logs and tests.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("malformed token or header")]
    Malformed,
    #[error("algorithm not allowed")]
    Algorithm,
    #[error("unknown key id")]
    UnknownKey,
    #[error("signature or claims invalid: {0}")]
    Invalid(String),
    #[error("token expired")]
    Expired,
    #[error("token not yet valid")]
    NotYetValid,
}

/// A signed access token and the moment it stops working.
#[derive(Debug, Clone)]
pub struct AccessToken {
    pub token: String,
    pub expires_at: DateTime<Utc>,
}

/// Issues and verifies access tokens.
#[derive(Debug, Clone)]
pub struct TokenIssuer {
    keys: KeyRing,
    issuer: String,
    audience: String,
    ttl: Duration,
    leeway: i64,
    verified: Arc<Verified>,
}

/// Tokens whose signature, key, issuer and audience were checked, by the SHA-256 of the
/// token, with their claims: what is true of a token's bytes stays true while this process
/// holds the same key ring. At most `capacity`; when full it is emptied.
#[derive(Debug, Default)]
struct Verified {
    capacity: usize,
    claims: Mutex<HashMap<[u8; 32], Claims>>,
}

impl Verified {
    fn get(&self, digest: &[u8; 32]) -> Option<Claims> {
        self.claims.lock().unwrap_or_else(PoisonError::into_inner).get(digest).cloned()
    }

    fn put(&self, digest: [u8; 32], claims: &Claims) {
        if self.capacity == 0 {
            return;
        }
        let mut remembered = self.claims.lock().unwrap_or_else(PoisonError::into_inner);
        if remembered.len() >= self.capacity {
            remembered.clear();
        }
        remembered.insert(digest, claims.clone());
    }
}

impl TokenIssuer {
    pub fn new(keys: KeyRing, settings: &AuthSettings) -> Self {
        Self {
            keys,
            issuer: settings.issuer.clone(),
            audience: settings.audience.clone(),
            ttl: Duration::seconds(settings.access_token_ttl_secs),
            leeway: settings.leeway_secs as i64,
            verified: Arc::new(Verified {
                capacity: settings.verified_tokens_remembered,
                ..Default::default()
            }),
        }
    }

    pub fn keys(&self) -> &KeyRing {
        &self.keys
    }

    /// Signs a token for `user` valid from `now` for the configured lifetime.
    pub fn issue(&self, user: Uuid, role: Role, now: DateTime<Utc>) -> AccessToken {
        let expires_at = now + self.ttl;
        let claims = Claims {
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            sub: user,
            role,
            iat: now.timestamp(),
            nbf: now.timestamp(),
            exp: expires_at.timestamp(),
        };
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.keys.signing_kid.clone());
        let token = encode(&header, &claims, &self.keys.encoding)
            .expect("an Ed25519 key from the key ring always signs");
        AccessToken { token, expires_at }
    }

    /// Verifies signature, algorithm (EdDSA only), key id, issuer and audience, then expiry
    /// and not-before against `now` with the configured leeway. A token this process has
    /// verified before skips the first part (see `auth.verified_tokens_remembered`); the
    /// times are checked every time.
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<Claims, TokenError> {
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let claims = match self.verified.get(&digest) {
            Some(claims) => claims,
            None => {
                let claims = self.verify_signed(token)?;
                self.verified.put(digest, &claims);
                claims
            }
        };
        let now = now.timestamp();
        if claims.exp + self.leeway <= now {
            return Err(TokenError::Expired);
        }
        if claims.nbf - self.leeway > now {
            return Err(TokenError::NotYetValid);
        }
        Ok(claims)
    }

    /// The claims of `token` if its signature, algorithm, key id, issuer and audience hold.
    fn verify_signed(&self, token: &str) -> Result<Claims, TokenError> {
        let header = decode_header(token).map_err(|_| TokenError::Malformed)?;
        if header.alg != Algorithm::EdDSA {
            return Err(TokenError::Algorithm);
        }
        let kid = header.kid.ok_or(TokenError::UnknownKey)?;
        let key = self.keys.find(&kid).ok_or(TokenError::UnknownKey)?;
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
        // Time is checked below against the application's clock, not the system's.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        Ok(decode::<Claims>(token, &key.decoding, &validation)
            .map_err(|e| TokenError::Invalid(e.to_string()))?
            .claims)
    }
}

/// A new refresh token: the value handed to the client and the hash that is stored.
pub struct RefreshSecret {
    pub token: String,
    pub hash: String,
}

impl RefreshSecret {
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        let token = URL_SAFE_NO_PAD.encode(bytes);
        let hash = hash_refresh_token(&token);
        Self { token, hash }
    }
}

/// The stored form of a refresh token.
pub fn hash_refresh_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use chrono::TimeZone;

    use super::*;
    use crate::config::{ExtractSettings, Settings};

    fn issuer(remembered: usize) -> TokenIssuer {
        let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
        let mut settings = Settings::figment(&config, "test").unwrap().extract_checked().unwrap().auth;
        settings.verified_tokens_remembered = remembered;
        TokenIssuer::new(KeyRing::generate(), &settings)
    }

    fn remembered(issuer: &TokenIssuer) -> usize {
        issuer.verified.claims.lock().unwrap().len()
    }

    fn at(hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 17, hour, 0, 0).single().unwrap()
    }

    #[test]
    fn a_remembered_token_is_still_checked_for_expiry_and_a_changed_one_for_its_signature() {
        let issuer = issuer(10);
        let token = issuer.issue(Uuid::now_v7(), Role::Official, at(10));
        let claims = issuer.verify(&token.token, at(10)).unwrap();
        assert_eq!(remembered(&issuer), 1);
        assert_eq!(issuer.verify(&token.token, at(10)).unwrap(), claims, "the same answer from memory");
        assert_eq!(remembered(&issuer), 1);
        // Still valid within the leeway after expiry; refused after it, remembered or not.
        let late = token.expires_at + Duration::seconds(issuer.leeway);
        assert_eq!(issuer.verify(&token.token, late), Err(TokenError::Expired));
        assert_eq!(issuer.verify(&token.token, at(9)), Err(TokenError::NotYetValid));
        // Another token, even one differing only in its signature's last character, is checked.
        let mut forged = token.token.clone();
        let last = forged.pop().unwrap();
        forged.push(if last == 'A' { 'B' } else { 'A' });
        assert!(matches!(issuer.verify(&forged, at(10)), Err(TokenError::Invalid(_))));
        assert_eq!(remembered(&issuer), 1, "a refused token is not remembered");
    }

    #[test]
    fn the_memory_is_emptied_when_full_and_off_at_zero() {
        let small = issuer(2);
        for expected in [1, 2, 1] {
            let token = small.issue(Uuid::now_v7(), Role::Citizen, at(10));
            small.verify(&token.token, at(10)).unwrap();
            assert_eq!(remembered(&small), expected);
        }
        let off = issuer(0);
        let token = off.issue(Uuid::now_v7(), Role::Citizen, at(10));
        off.verify(&token.token, at(10)).unwrap();
        assert_eq!(remembered(&off), 0);
    }
}
