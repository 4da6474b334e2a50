//! An account's name: what people type to log in.

/// The name the configured admin token acts under: no account may take it, so that nothing
/// done with that token is mistaken for an account's doing.
pub const RESERVED: &str = "admin-token";

/// 1 to 64 characters: lower-case ASCII letters, digits, `.`, `_` and `-`, starting with a
/// letter or digit (the database checks the same).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountName(String);

impl AccountName {
    pub fn parse(name: &str) -> Result<Self, super::AccountError> {
        let valid = (1..=64).contains(&name.len())
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
            && name
                .bytes()
                .next()
                .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
        if name == RESERVED {
            return Err(super::AccountError::Invalid(format!(
                "{name:?} names the configured admin token's caller; choose another name"
            )));
        }
        if valid {
            Ok(Self(name.to_owned()))
        } else {
            Err(super::AccountError::Invalid(format!(
                "{name:?} is no account name: use 1 to 64 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit"
            )))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::AccountName;

    #[test]
    fn names_are_short_lower_case_words() {
        for good in ["ana", "bi.team", "user-00001", "a_1"] {
            assert!(AccountName::parse(good).is_ok(), "{good}");
        }
        for bad in ["", "Ana", "-ana", "a b", "a\0", &"a".repeat(65), "ünï"] {
            assert!(AccountName::parse(bad).is_err(), "{bad:?}");
        }
    }
}
