//! Password hashing (argon2, on a blocking thread: a hash takes tens of milliseconds).

use super::AccountError;

/// The shortest password an account may have.
pub const MIN_PASSWORD_CHARS: usize = 10;
/// The longest password hashed (longer ones are refused rather than hashed at length).
pub const MAX_PASSWORD_BYTES: usize = 512;

/// Checks a new password's length.
pub fn check_new(password: &str) -> Result<(), AccountError> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(AccountError::Invalid(format!(
            "a password needs at least {MIN_PASSWORD_CHARS} characters"
        )));
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(AccountError::Invalid(format!(
            "a password may have at most {MAX_PASSWORD_BYTES} bytes"
        )));
    }
    Ok(())
}

/// The argon2 hash of `password`, in PHC form.
pub async fn hash(password: &str) -> Result<String, AccountError> {
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || password_auth::generate_hash(password))
        .await
        .map_err(|e| AccountError::Hashing(e.to_string()))
}

/// Whether `password` matches `hash`. A password too long to be anyone's is refused without
/// hashing it.
pub async fn verify(password: &str, hash: &str) -> bool {
    if password.len() > MAX_PASSWORD_BYTES {
        return false;
    }
    let (password, hash) = (password.to_owned(), hash.to_owned());
    tokio::task::spawn_blocking(move || password_auth::verify_password(password, &hash).is_ok())
        .await
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_its_password_only() {
        let hash = hash("correct horse battery").await.unwrap();
        assert!(hash.starts_with("$argon2"));
        assert!(verify("correct horse battery", &hash).await);
        assert!(!verify("correct horse batterY", &hash).await);
        assert!(check_new("short").is_err());
        assert!(check_new("long enough now").is_ok());
    }
}
