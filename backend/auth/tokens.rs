//! Access tokens (EdDSA-signed JWT with a key id) and refresh tokens (opaque, random,
//! stored only as a SHA-256 hash). Expiry is checked against the application's clock.

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
}

impl TokenIssuer {
    pub fn new(keys: KeyRing, settings: &AuthSettings) -> Self {
        Self {
            keys,
            issuer: settings.issuer.clone(),
            audience: settings.audience.clone(),
            ttl: Duration::seconds(settings.access_token_ttl_secs),
            leeway: settings.leeway_secs as i64,
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
    /// and not-before against `now` with the configured leeway.
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<Claims, TokenError> {
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
        let claims = decode::<Claims>(token, &key.decoding, &validation)
            .map_err(|e| TokenError::Invalid(e.to_string()))?
            .claims;
        let now = now.timestamp();
        if claims.exp + self.leeway <= now {
            return Err(TokenError::Expired);
        }
        if claims.nbf - self.leeway > now {
            return Err(TokenError::NotYetValid);
        }
        Ok(claims)
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
