//! The ids mdBook gives a page's headings, computed from its Markdown, so
//! a `page.md#anchor` reference can be proven without building the book.

use std::collections::HashSet;

use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};

/// The Markdown extensions mdBook turns on: headings and code blocks are
/// found where mdBook finds them.
fn options() -> Options {
    Options::ENABLE_TABLES
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_HEADING_ATTRIBUTES
        | Options::ENABLE_SMART_PUNCTUATION
        | Options::ENABLE_DEFINITION_LIST
        | Options::ENABLE_GFM
}

/// mdBook's rule for a heading's id: its text lowercased, whitespace to
/// `-`, everything but letters, digits, `-` and `_` dropped.
pub fn id_from_text(text: &str) -> String {
    text.trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            c if c.is_alphanumeric() || c == '_' || c == '-' => Some(c),
            c if c.is_whitespace() => Some('-'),
            _ => None,
        })
        .collect()
}

/// Every heading (and definition term) id of a page, in order: an explicit `{#id}` as written,
/// else the id of its text, with `-1`, `-2` appended to repeats as mdBook
/// does.
pub fn heading_ids(markdown: &str) -> Vec<String> {
    let mut ids = Vec::new();
    let mut used = HashSet::new();
    let mut current: Option<(Option<String>, String)> = None;
    for event in Parser::new_ext(markdown, options()) {
        match event {
            Event::Start(Tag::Heading { id, .. }) => current = Some((id.map(|i| i.to_string()), String::new())),
            // mdBook gives a definition list's terms ids too, from the same counter.
            Event::Start(Tag::DefinitionListTitle) => current = Some((None, String::new())),
            Event::Text(t) | Event::Code(t) if current.is_some() => {
                if let Some((_, text)) = current.as_mut() {
                    text.push_str(&t);
                }
            }
            Event::End(TagEnd::Heading(_) | TagEnd::DefinitionListTitle) => {
                let Some((explicit, text)) = current.take() else { continue };
                match explicit {
                    Some(id) => ids.push(id),
                    None => ids.push(unique(id_from_text(&text), &mut used)),
                }
            }
            _ => {}
        }
    }
    ids
}

fn unique(id: String, used: &mut HashSet<String>) -> String {
    if used.insert(id.clone()) {
        return id;
    }
    (1..).map(|n| format!("{id}-{n}")).find(|candidate| used.insert(candidate.clone())).expect("an unused suffix")
}

#[cfg(test)]
mod tests {
    use super::{heading_ids, id_from_text};

    #[test]
    fn ids_follow_mdbook_s_rule() {
        assert_eq!(id_from_text("`fetch_one` takes the first row"), "fetch_one-takes-the-first-row");
        assert_eq!(id_from_text("NULL is not a value!"), "null-is-not-a-value");
        assert_eq!(id_from_text("What's `&mut *tx`?"), "whats-mut-tx");
        assert_eq!(id_from_text("Über 2 tables"), "über-2-tables");
    }

    #[test]
    fn a_page_s_ids_skip_code_and_number_repeats() {
        let page = "# Title\n\n```sql\n# not a heading\n```\n\n## Try it\n\ntext\n\n## Try *it*\n\n### Custom {#own-id}\n\n## Try it\n\nRow\n: one record of a table\n";
        assert_eq!(heading_ids(page), ["title", "try-it", "try-it-1", "own-id", "try-it-2", "row"]);
    }
}
