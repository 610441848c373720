//! Splitting a simple-protocol query string into its statements, so that
//! `"UPDATE a ...; UPDATE b ..."` sent in one message is recorded as the two
//! statements the server runs (each answers with its own CommandComplete).
//!
//! Only what decides where a statement ends is understood: quoted strings
//! and identifiers, dollar-quoted bodies (`$$ ... $$`, `$fn$ ... $fn$`), and
//! both kinds of comment. When the count disagrees with the server's
//! answers the recorder falls back to the whole text, so a split that is
//! wrong shows more, never less.

/// The statements in `sql`, each trimmed, empty ones left out.
pub fn statements(sql: &str) -> Vec<String> {
    let b = sql.as_bytes();
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\'' | b'"' => i = skip_quoted(b, i),
            b'-' if b.get(i + 1) == Some(&b'-') => {
                i = b[i..].iter().position(|&c| c == b'\n').map_or(b.len(), |p| i + p + 1);
            }
            b'/' if b.get(i + 1) == Some(&b'*') => i = skip_block_comment(b, i),
            b'$' => i = skip_dollar(b, i),
            b';' => {
                push(&mut out, &sql[start..i]);
                i += 1;
                start = i;
            }
            _ => i += 1,
        }
    }
    push(&mut out, &sql[start..]);
    out
}

fn push(out: &mut Vec<String>, piece: &str) {
    let piece = piece.trim();
    if !piece.is_empty() && !only_comments(piece) {
        out.push(piece.to_owned());
    }
}

fn only_comments(piece: &str) -> bool {
    piece.lines().all(|l| {
        let l = l.trim();
        l.is_empty() || l.starts_with("--")
    })
}

/// Past the closing quote; a doubled quote is part of the string.
fn skip_quoted(b: &[u8], open: usize) -> usize {
    let q = b[open];
    let mut i = open + 1;
    while i < b.len() {
        if b[i] == q {
            if b.get(i + 1) == Some(&q) {
                i += 2;
                continue;
            }
            return i + 1;
        }
        i += 1;
    }
    b.len()
}

/// Past `*/`; block comments nest in PostgreSQL.
fn skip_block_comment(b: &[u8], open: usize) -> usize {
    let mut depth = 0;
    let mut i = open;
    while i + 1 < b.len() {
        if b[i] == b'/' && b[i + 1] == b'*' {
            depth += 1;
            i += 2;
        } else if b[i] == b'*' && b[i + 1] == b'/' {
            depth -= 1;
            i += 2;
            if depth == 0 {
                return i;
            }
        } else {
            i += 1;
        }
    }
    b.len()
}

/// Past a dollar-quoted body, or just past the `$` of a parameter like `$1`.
fn skip_dollar(b: &[u8], open: usize) -> usize {
    let mut j = open + 1;
    while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_') {
        if j == open + 1 && b[j].is_ascii_digit() {
            return open + 1;
        }
        j += 1;
    }
    if b.get(j) != Some(&b'$') {
        return open + 1;
    }
    let tag = &b[open..=j];
    let body = j + 1;
    b[body..].windows(tag.len()).position(|w| w == tag).map_or(b.len(), |p| body + p + tag.len())
}

#[cfg(test)]
mod tests {
    use super::statements;

    #[test]
    fn statements_split_at_semicolons_outside_quotes_comments_and_bodies() {
        let sql = "UPDATE a SET s = 'x;y'; -- not; here\nSELECT \"odd;name\" FROM t /* ; */;\n\
                   CREATE FUNCTION f() RETURNS trigger AS $body$ BEGIN; END $body$ LANGUAGE plpgsql;\n\
                   SELECT $1 ; ; ";
        let got = statements(sql);
        assert_eq!(got.len(), 4, "{got:#?}");
        assert_eq!(got[0], "UPDATE a SET s = 'x;y'");
        assert!(got[1].ends_with("FROM t /* ; */"), "{}", got[1]);
        assert!(got[2].contains("BEGIN; END"), "{}", got[2]);
        assert_eq!(got[3], "SELECT $1");
    }

    #[test]
    fn a_doubled_quote_stays_inside_the_string() {
        assert_eq!(statements("SELECT 'it''s; fine'; SELECT 2"), ["SELECT 'it''s; fine'", "SELECT 2"]);
    }

    #[test]
    fn a_trailing_comment_is_not_a_statement() {
        assert_eq!(statements("SELECT 1;\n-- done\n"), ["SELECT 1"]);
    }
}
