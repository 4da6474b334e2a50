//! Encoding rows in PostgreSQL's COPY text format (tab-separated, `\N` for NULL).

/// Builds a buffer of COPY text rows, one field at a time.
#[derive(Debug, Default)]
pub(crate) struct CopyTextWriter {
    buf: Vec<u8>,
    row_open: bool,
}

impl CopyTextWriter {
    pub fn with_capacity(bytes: usize) -> Self {
        Self {
            buf: Vec::with_capacity(bytes),
            row_open: false,
        }
    }

    fn separator(&mut self) {
        if self.row_open {
            self.buf.push(b'\t');
        }
        self.row_open = true;
    }

    /// A text field; `None` is NULL.
    pub fn text(&mut self, value: Option<&str>) {
        self.separator();
        match value {
            Some(text) => escape_into(&mut self.buf, text),
            None => self.buf.extend_from_slice(b"\\N"),
        }
    }

    /// A field written with its `Display` form (numbers, booleans); `None` is NULL.
    pub fn display<T: std::fmt::Display>(&mut self, value: Option<T>) {
        self.separator();
        match value {
            Some(v) => {
                use std::io::Write;
                let _ = write!(self.buf, "{v}");
            }
            None => self.buf.extend_from_slice(b"\\N"),
        }
    }

    /// A `text[]` field from its items.
    pub fn text_array<'a>(&mut self, items: impl IntoIterator<Item = &'a str>) {
        self.separator();
        let mut literal = String::from("{");
        for (i, item) in items.into_iter().enumerate() {
            if i > 0 {
                literal.push(',');
            }
            literal.push('"');
            for c in item.chars() {
                if c == '"' || c == '\\' {
                    literal.push('\\');
                }
                literal.push(c);
            }
            literal.push('"');
        }
        literal.push('}');
        escape_into(&mut self.buf, &literal);
    }

    pub fn end_row(&mut self) {
        self.buf.push(b'\n');
        self.row_open = false;
    }

    pub fn len(&self) -> usize {
        self.buf.len()
    }

    pub fn take(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.buf)
    }
}

fn escape_into(buf: &mut Vec<u8>, text: &str) {
    for &b in text.as_bytes() {
        match b {
            b'\\' => buf.extend_from_slice(b"\\\\"),
            b'\t' => buf.extend_from_slice(b"\\t"),
            b'\n' => buf.extend_from_slice(b"\\n"),
            b'\r' => buf.extend_from_slice(b"\\r"),
            other => buf.push(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::CopyTextWriter;

    #[test]
    fn escapes_separators_and_writes_nulls() {
        let mut w = CopyTextWriter::default();
        w.text(Some("a\tb\\c\nd"));
        w.text(None);
        w.display(Some(1.5));
        w.display::<i32>(None);
        w.end_row();
        assert_eq!(
            String::from_utf8(w.take()).unwrap(),
            "a\\tb\\\\c\\nd\t\\N\t1.5\t\\N\n"
        );
    }

    #[test]
    fn quotes_array_items_so_commas_and_quotes_survive() {
        let mut w = CopyTextWriter::default();
        w.text_array(["Tyler, The Creator", "say \"hi\"", "back\\slash"]);
        w.end_row();
        let text = String::from_utf8(w.take()).unwrap();
        assert_eq!(
            text,
            "{\"Tyler, The Creator\",\"say \\\\\"hi\\\\\"\",\"back\\\\\\\\slash\"}\n"
        );
    }
}
