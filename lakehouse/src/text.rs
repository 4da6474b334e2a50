//! What text every layer can store: the rules ingest applies at the edge, and silver applies
//! again (as the SQL functions `id_fault` and `text_fault`) to whatever bronze holds, so that
//! no value can reach gold that PostgreSQL refuses.
//!
//! PostgreSQL `text` cannot hold U+0000, and a B-tree index entry (a primary key) is limited
//! to about a third of a page, so identifiers get a length limit far below it. Parquet and
//! Arrow take any UTF-8.

use std::fmt;

/// The longest identifier (user, track, event id; genre; a context label), in UTF-8 bytes.
pub const MAX_ID_BYTES: usize = 128;
/// The longest free text (a track's name, album, artists), in UTF-8 bytes.
pub const MAX_TEXT_BYTES: usize = 2048;

/// Why a text cannot be stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextFault {
    /// U+0000, which PostgreSQL text cannot hold.
    Nul,
    /// A control character (C0, DEL or C1), not allowed in identifiers.
    Control(char),
    /// Longer than the limit, in bytes.
    TooLong(usize),
}

impl fmt::Display for TextFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TextFault::Nul => f.write_str("holds a NUL character (U+0000)"),
            TextFault::Control(c) => {
                write!(f, "holds a control character (U+{:04X})", u32::from(*c))
            }
            TextFault::TooLong(max) => write!(f, "is longer than {max} bytes"),
        }
    }
}

/// What is wrong with an identifier, if anything: a control character, or over
/// [`MAX_ID_BYTES`].
pub fn id_fault(id: &str) -> Option<TextFault> {
    if let Some(c) = id.chars().find(|c| c.is_control()) {
        return Some(if c == '\0' {
            TextFault::Nul
        } else {
            TextFault::Control(c)
        });
    }
    (id.len() > MAX_ID_BYTES).then_some(TextFault::TooLong(MAX_ID_BYTES))
}

/// What is wrong with a free text, if anything: a NUL, or over [`MAX_TEXT_BYTES`]. Other
/// control characters (tabs, line breaks) are kept.
pub fn text_fault(text: &str) -> Option<TextFault> {
    if text.contains('\0') {
        return Some(TextFault::Nul);
    }
    (text.len() > MAX_TEXT_BYTES).then_some(TextFault::TooLong(MAX_TEXT_BYTES))
}

/// Whether UTF-8 `bytes` may hold a control character: a C0 byte, DEL, or the lead byte of
/// the two-byte C1 range. A quick test over a whole column's bytes before looking at values.
pub fn may_hold_control(bytes: &[u8]) -> bool {
    bytes.iter().any(|&b| b < 0x20 || b == 0x7f || b == 0xc2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_refuse_control_characters_and_long_values() {
        assert_eq!(id_fault("user-00001"), None);
        assert_eq!(id_fault("Ünïcødé ✓ 🎵"), None);
        assert_eq!(id_fault("a\0b"), Some(TextFault::Nul));
        assert_eq!(id_fault("a\tb"), Some(TextFault::Control('\t')));
        assert_eq!(id_fault("a\u{85}b"), Some(TextFault::Control('\u{85}')));
        assert_eq!(id_fault("a\u{7f}"), Some(TextFault::Control('\u{7f}')));
        assert_eq!(id_fault(&"x".repeat(MAX_ID_BYTES)), None);
        assert_eq!(
            id_fault(&"x".repeat(MAX_ID_BYTES + 1)),
            Some(TextFault::TooLong(MAX_ID_BYTES))
        );
    }

    #[test]
    fn free_text_keeps_layout_characters_but_not_nul() {
        assert_eq!(text_fault("line\nbreak\tand tab"), None);
        assert_eq!(text_fault("nul\0"), Some(TextFault::Nul));
        assert_eq!(
            text_fault(&"é".repeat(MAX_TEXT_BYTES)),
            Some(TextFault::TooLong(MAX_TEXT_BYTES))
        );
        assert_eq!(
            TextFault::Control('\u{1b}').to_string(),
            "holds a control character (U+001B)"
        );
    }

    #[test]
    fn the_quick_byte_test_finds_every_control_character() {
        for c in (0u32..0x110000).filter_map(char::from_u32) {
            let mut buf = [0; 4];
            let text = c.encode_utf8(&mut buf);
            if c.is_control() {
                assert!(may_hold_control(text.as_bytes()), "{c:?}");
            }
        }
        assert!(!may_hold_control("plain ascii é ✓".as_bytes()));
    }
}
