//! What both SQL backends build the same way: `LIKE` patterns and page bounds.

use crate::model::Page;

/// `LIKE` pattern matching `s` anywhere, with the wildcards in `s` escaped (`\` is the escape
/// character, named `ESCAPE '\'` on SQLite and PostgreSQL's default).
pub fn contains_pattern(s: &str) -> String {
    let escaped = s
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

/// `LIMIT` and `OFFSET` of a page; an offset beyond `i64` (a page number near `u64::MAX`) stays the
/// largest, so the page is empty, never an error.
pub fn limit_offset(page: Page) -> (i64, i64) {
    (page.size as i64, page.offset().min(i64::MAX as u64) as i64)
}
