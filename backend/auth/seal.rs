//! Sealing small secrets the server must keep for a while but never store readable: a
//! guest's access code kept with an idempotency record, so that a retried filing can show it
//! again. XChaCha20-Poly1305 with a random 24-byte nonce, under a key derived from the
//! signing key's seed (so it lives in the key file, not in the database); the associated data
//! names what the secret belongs to, so a sealed value moved to another record does not open.
//!
//! A new signing key makes a new sealing key: values sealed under the old one no longer open.
//! Idempotency records live a day, so that is the longest anything sealed must outlive a
//! key change.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;
use sha2::{Digest, Sha256};

const NONCE_LEN: usize = 24;

/// Seals and opens with the server's sealing key.
#[derive(Clone)]
pub struct Sealer {
    cipher: XChaCha20Poly1305,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sealer").finish_non_exhaustive()
    }
}

impl Sealer {
    /// The sealer of the signing key with this seed. The seed is 32 uniformly random bytes,
    /// so one SHA-256 under a label of its own gives an independent key.
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        let mut hasher = Sha256::new();
        hasher.update(b"murojiat.seal.v1\0");
        hasher.update(seed);
        let key: [u8; 32] = hasher.finalize().into();
        Self { cipher: XChaCha20Poly1305::new(&key.into()) }
    }

    /// `secret` sealed for `context`, as URL-safe base64 of the nonce and the ciphertext.
    pub fn seal(&self, context: &[u8], secret: &[u8], rng: &mut impl RngCore) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        rng.fill_bytes(&mut nonce);
        let sealed = self
            .cipher
            .encrypt(&XNonce::from(nonce), Payload { msg: secret, aad: context })
            .expect("XChaCha20-Poly1305 seals any message shorter than 256 GiB");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        URL_SAFE_NO_PAD.encode(out)
    }

    /// The secret sealed for `context`, or `None` when `sealed` is malformed, was sealed for
    /// another context or under another key, or was altered.
    pub fn open(&self, context: &[u8], sealed: &str) -> Option<Vec<u8>> {
        let bytes = URL_SAFE_NO_PAD.decode(sealed).ok()?;
        if bytes.len() < NONCE_LEN {
            return None;
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().ok()?;
        self.cipher.decrypt(&XNonce::from(nonce), Payload { msg: ciphertext, aad: context }).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sealer(byte: u8) -> Sealer {
        Sealer::from_seed(&[byte; 32])
    }

    #[test]
    fn a_sealed_secret_opens_for_its_context_and_is_not_readable() {
        let sealed = sealer(1).seal(b"appeal-1", b"ABCD-EFGH-JKLM", &mut rand::rng());
        assert!(!sealed.contains("ABCD"), "{sealed}");
        assert_eq!(sealer(1).open(b"appeal-1", &sealed).as_deref(), Some(&b"ABCD-EFGH-JKLM"[..]));
    }

    #[test]
    fn two_seals_of_one_secret_differ() {
        let a = sealer(1).seal(b"c", b"secret", &mut rand::rng());
        let b = sealer(1).seal(b"c", b"secret", &mut rand::rng());
        assert_ne!(a, b, "a fresh nonce each time");
    }

    #[test]
    fn another_context_another_key_or_a_changed_byte_does_not_open() {
        let sealed = sealer(1).seal(b"appeal-1", b"secret", &mut rand::rng());
        assert_eq!(sealer(1).open(b"appeal-2", &sealed), None);
        assert_eq!(sealer(2).open(b"appeal-1", &sealed), None);
        let mut bytes = URL_SAFE_NO_PAD.decode(&sealed).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        assert_eq!(sealer(1).open(b"appeal-1", &URL_SAFE_NO_PAD.encode(bytes)), None);
        assert_eq!(sealer(1).open(b"appeal-1", "not base64 at all!"), None);
        assert_eq!(sealer(1).open(b"appeal-1", "c2hvcnQ"), None);
    }
}
