//! Authentication: argon2id password hashing, Ed25519-signed JWT access tokens, opaque
//! rotating refresh tokens.

pub mod keys;
pub mod password;
pub mod seal;
pub mod tokens;
