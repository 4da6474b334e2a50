//! Parsing the Python list literals that some exports use for multi-valued fields, such as
//! `['Sergei Rachmaninoff', "Guns N' Roses"]`.

/// Splits a Python list-of-strings literal into its items.
///
/// Accepts single- and double-quoted items with backslash escapes. Text that is not a list
/// literal is returned as a single item (trimmed), so that nothing is lost; an empty list or
/// empty text gives no items.
pub fn parse_python_list(text: &str) -> Vec<String> {
    let trimmed = text.trim();
    let Some(inner) = trimmed.strip_prefix('[').and_then(|t| t.strip_suffix(']')) else {
        return if trimmed.is_empty() {
            Vec::new()
        } else {
            vec![trimmed.to_owned()]
        };
    };
    let mut items = Vec::new();
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' | '"' => {
                let quote = c;
                let mut item = String::new();
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => {
                            if let Some(escaped) = chars.next() {
                                item.push(escaped);
                            }
                        }
                        c if c == quote => break,
                        c => item.push(c),
                    }
                }
                items.push(item);
            }
            ',' => {}
            c if c.is_whitespace() => {}
            other => {
                // An unquoted item: read up to the next comma.
                let mut item = String::from(other);
                while let Some(&c) = chars.peek() {
                    if c == ',' {
                        break;
                    }
                    item.push(c);
                    chars.next();
                }
                items.push(item.trim().to_owned());
            }
        }
    }
    items
}

#[cfg(test)]
mod tests {
    use super::parse_python_list;

    #[test]
    fn parses_single_and_double_quoted_items() {
        assert_eq!(
            parse_python_list(r#"['Sergei Rachmaninoff', "Guns N' Roses"]"#),
            ["Sergei Rachmaninoff", "Guns N' Roses"]
        );
    }

    #[test]
    fn handles_escapes_commas_inside_items_and_empty_lists() {
        assert_eq!(
            parse_python_list(r"['Tyler, The Creator', 'It\'s']"),
            ["Tyler, The Creator", "It's"]
        );
        assert!(parse_python_list("[]").is_empty());
        assert!(parse_python_list("  ").is_empty());
    }

    #[test]
    fn keeps_text_that_is_not_a_list_as_one_item() {
        assert_eq!(parse_python_list("Just An Artist"), ["Just An Artist"]);
    }
}
