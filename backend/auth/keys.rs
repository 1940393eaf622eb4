//! Ed25519 signing keys for access tokens: loaded from PEM (a file or the environment) or
//! generated on first start into a 0600 file; their public halves are served as a JWKS.

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ed25519_dalek::SigningKey;
use jsonwebtoken::{DecodingKey, EncodingKey};
use rand::RngCore;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::seal::Sealer;

/// PKCS#8 v1 DER of an Ed25519 private key is this prefix followed by the 32-byte seed.
const PKCS8_PREFIX: [u8; 16] =
    [0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20];
/// SubjectPublicKeyInfo DER of an Ed25519 public key is this prefix followed by the key.
const SPKI_PREFIX: [u8; 12] = [0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00];

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("{path}: {reason}")]
    File { path: String, reason: String },
    #[error("not an Ed25519 key in PEM form: {0}")]
    Format(&'static str),
}

/// A public key that verifies tokens, with its key id.
#[derive(Clone)]
pub struct VerifyingKey {
    pub kid: String,
    pub public: [u8; 32],
    pub decoding: DecodingKey,
}

/// The current signing key plus every public key still accepted.
#[derive(Clone)]
pub struct KeyRing {
    pub signing_kid: String,
    pub encoding: EncodingKey,
    pub verifying: Vec<VerifyingKey>,
    /// Seals secrets kept for a while (see [`Sealer`]), under a key derived from the signing
    /// key's seed.
    pub sealer: Sealer,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRing").field("signing_kid", &self.signing_kid).finish_non_exhaustive()
    }
}

impl KeyRing {
    /// Loads the signing key from `pem` if given, else from `file`, generating the file
    /// (mode 0600, folder created) when it does not exist. `previous` are PEM public keys of
    /// retired signing keys that still verify.
    pub fn load(pem: Option<&str>, file: &Path, previous: &[std::path::PathBuf]) -> Result<Self, KeyError> {
        let seed = match pem {
            Some(pem) => seed_from_pem(pem)?,
            None if file.exists() => {
                let text = std::fs::read_to_string(file).map_err(|e| file_error(file, e))?;
                seed_from_pem(&text)?
            }
            None => generate_into(file)?,
        };
        let mut ring = Self::from_seed(seed);
        for path in previous {
            let text = std::fs::read_to_string(path).map_err(|e| file_error(path, e))?;
            ring.verifying.push(verifying_key(public_from_pem(&text)?));
        }
        Ok(ring)
    }

    /// A ring with one key made from a 32-byte seed.
    pub fn from_seed(seed: [u8; 32]) -> Self {
        let public = SigningKey::from_bytes(&seed).verifying_key().to_bytes();
        let mut der = PKCS8_PREFIX.to_vec();
        der.extend_from_slice(&seed);
        let current = verifying_key(public);
        Self {
            signing_kid: current.kid.clone(),
            encoding: EncodingKey::from_ed_der(&der),
            verifying: vec![current],
            sealer: Sealer::from_seed(&seed),
        }
    }

    /// A fresh random key, for tests and first starts.
    pub fn generate() -> Self {
        Self::from_seed(random_seed())
    }

    pub fn find(&self, kid: &str) -> Option<&VerifyingKey> {
        self.verifying.iter().find(|k| k.kid == kid)
    }

    /// The public keys as a JSON Web Key Set (RFC 7517, OKP keys of RFC 8037).
    pub fn jwks(&self) -> Jwks {
        Jwks {
            keys: self
                .verifying
                .iter()
                .map(|k| Jwk {
                    kty: "OKP",
                    crv: "Ed25519",
                    alg: "EdDSA",
                    key_use: "sig",
                    kid: k.kid.clone(),
                    x: URL_SAFE_NO_PAD.encode(k.public),
                })
                .collect(),
        }
    }
}

/// A JSON Web Key Set.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Jwks {
    pub keys: Vec<Jwk>,
}

/// One public key.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Jwk {
    pub kty: &'static str,
    pub crv: &'static str,
    pub alg: &'static str,
    #[serde(rename = "use")]
    pub key_use: &'static str,
    pub kid: String,
    pub x: String,
}

/// PEM text of a public key, for `previous_public_key_files` after a rotation.
pub fn public_pem(public: &[u8; 32]) -> String {
    let mut der = SPKI_PREFIX.to_vec();
    der.extend_from_slice(public);
    pem("PUBLIC KEY", &der)
}

fn verifying_key(public: [u8; 32]) -> VerifyingKey {
    // The key id is derived from the key, so it is stable across restarts and processes.
    let kid = hex::encode(&Sha256::digest(public)[..8]);
    VerifyingKey { kid, public, decoding: DecodingKey::from_ed_der(&public) }
}

fn random_seed() -> [u8; 32] {
    let mut seed = [0u8; 32];
    rand::rng().fill_bytes(&mut seed);
    seed
}

fn generate_into(file: &Path) -> Result<[u8; 32], KeyError> {
    let seed = random_seed();
    let mut der = PKCS8_PREFIX.to_vec();
    der.extend_from_slice(&seed);
    if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| file_error(dir, e))?;
    }
    write_private(file, &pem("PRIVATE KEY", &der)).map_err(|e| file_error(file, e))?;
    tracing::info!(path = %file.display(), "generated a new token signing key");
    Ok(seed)
}

#[cfg(unix)]
fn write_private(file: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(file)?;
    f.write_all(text.as_bytes())
}

#[cfg(not(unix))]
fn write_private(file: &Path, text: &str) -> std::io::Result<()> {
    std::fs::write(file, text)
}

fn pem(label: &str, der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let lines: Vec<&str> =
        body.as_bytes().chunks(64).map(|c| std::str::from_utf8(c).unwrap_or_default()).collect();
    format!("-----BEGIN {label}-----\n{}\n-----END {label}-----\n", lines.join("\n"))
}

fn pem_body(text: &str, label: &str) -> Result<Vec<u8>, KeyError> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = text.find(&begin).ok_or(KeyError::Format("missing BEGIN line"))? + begin.len();
    let stop = text[start..].find(&end).ok_or(KeyError::Format("missing END line"))? + start;
    let b64: String = text[start..stop].chars().filter(|c| !c.is_whitespace()).collect();
    STANDARD.decode(b64).map_err(|_| KeyError::Format("body is not base64"))
}

fn seed_from_pem(text: &str) -> Result<[u8; 32], KeyError> {
    let der = pem_body(text, "PRIVATE KEY")?;
    der.strip_prefix(&PKCS8_PREFIX[..])
        .and_then(|seed| <[u8; 32]>::try_from(seed).ok())
        .ok_or(KeyError::Format("not a PKCS#8 Ed25519 private key"))
}

fn public_from_pem(text: &str) -> Result<[u8; 32], KeyError> {
    let der = pem_body(text, "PUBLIC KEY")?;
    der.strip_prefix(&SPKI_PREFIX[..])
        .and_then(|key| <[u8; 32]>::try_from(key).ok())
        .ok_or(KeyError::Format("not an Ed25519 public key"))
}

fn file_error(path: &Path, e: std::io::Error) -> KeyError {
    KeyError::File { path: path.display().to_string(), reason: e.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_key_file_is_private_and_reloads_to_the_same_key() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("keys/jwt.pem");
        let first = KeyRing::load(None, &file, &[]).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&file).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let again = KeyRing::load(None, &file, &[]).unwrap();
        assert_eq!(first.signing_kid, again.signing_kid);
    }

    #[test]
    fn previous_public_keys_stay_accepted() {
        let dir = tempfile::tempdir().unwrap();
        let old = KeyRing::generate();
        let old_pub = dir.path().join("old.pub.pem");
        std::fs::write(&old_pub, public_pem(&old.verifying[0].public)).unwrap();
        let ring = KeyRing::load(None, &dir.path().join("new.pem"), &[old_pub]).unwrap();
        assert_eq!(ring.verifying.len(), 2);
        assert!(ring.find(&old.signing_kid).is_some());
        assert_eq!(ring.jwks().keys.len(), 2);
    }

    #[test]
    fn garbage_is_refused() {
        assert!(seed_from_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----").is_err());
        assert!(seed_from_pem("hello").is_err());
    }
}
