//! Random secrets (session cookies, API tokens, generated passwords) and their stored form.

use rand::RngCore;
use sha2::{Digest, Sha256};

/// A new random secret: 32 bytes from the operating system, as hex, after `prefix`.
pub fn new_secret(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("{prefix}{}", hex::encode(bytes))
}

/// A password for a generated account: 20 characters from an alphabet without look-alikes.
pub fn new_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut bytes = [0u8; 20];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    bytes
        .iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect()
}

/// What is stored of a secret: its SHA-256 (a secret of 256 random bits needs no slow hash).
pub fn stored_form(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_long_random_and_stored_hashed() {
        let (a, b) = (new_secret("sl_"), new_secret("sl_"));
        assert_ne!(a, b);
        assert_eq!(a.len(), 3 + 64);
        assert_eq!(stored_form(&a).len(), 32);
        assert_ne!(stored_form(&a), stored_form(&b));
        assert_eq!(new_password().len(), 20);
    }
}
