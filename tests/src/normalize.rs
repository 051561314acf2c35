//! Makes etcdctl output from two different servers comparable: what is legitimately different
//! between two runs of the same script (ids, ports, timings, raft terms, the remaining TTL of a
//! lease that is counting down) becomes a placeholder; everything else (revisions, values,
//! counts, error texts, formatting) is kept, so a remaining difference is a real one.

/// Placeholders for ids, ports, timings and terms in `text`.
pub fn normalize(text: &str) -> String {
    let lines = text.lines().filter(|line| !is_client_log(line));
    lines.map(|line| normalize_line(line) + "\n").collect()
}

/// etcdctl's client library logs retries as JSON lines with timestamps (`{"level":"warn",...`):
/// noise about how the answer was obtained, not the answer.
fn is_client_log(line: &str) -> bool {
    line.starts_with("{\"level\":")
}

fn normalize_line(line: &str) -> String {
    let line = ids(line);
    let line = number_after(&line, "127.0.0.1:", "<PORT>");
    let line = number_after(&line, "remaining(", "<N>");
    let line = number_after(&line, "\"raft_term\":", "<TERM>");
    until_delimiter_after(&line, "took = ", "<DURATION>")
}

/// Hex ids (12 to 16 digits, etcd prints lease and member ids so) and long decimal ids (JSON).
fn ids(line: &str) -> String {
    let mut out = String::new();
    let mut word = String::new();
    for c in line.chars().chain(std::iter::once('\0')) {
        if c.is_ascii_alphanumeric() {
            word.push(c);
            continue;
        }
        out.push_str(if is_id(&word) { "<ID>" } else { &word });
        word.clear();
        if c != '\0' {
            out.push(c);
        }
    }
    out
}

fn is_id(word: &str) -> bool {
    let hex = (12..=16).contains(&word.len())
        && word.chars().all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c));
    let long_decimal = word.len() >= 12 && word.chars().all(|c| c.is_ascii_digit());
    hex || long_decimal
}

/// Replaces the decimal number right after each `marker` with `placeholder`.
fn number_after(line: &str, marker: &str, placeholder: &str) -> String {
    replace_after(line, marker, placeholder, |c| c.is_ascii_digit())
}

/// Replaces what follows each `marker` up to a space, comma, `)` or the end of the line.
fn until_delimiter_after(line: &str, marker: &str, placeholder: &str) -> String {
    replace_after(line, marker, placeholder, |c| !matches!(c, ' ' | ',' | ')'))
}

fn replace_after(line: &str, marker: &str, placeholder: &str, part: fn(char) -> bool) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(at) = rest.find(marker) {
        let after = &rest[at + marker.len()..];
        let end = after.find(|c: char| !part(c)).unwrap_or(after.len());
        out.push_str(&rest[..at + marker.len()]);
        out.push_str(if end > 0 { placeholder } else { "" });
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::normalize;

    #[test]
    fn ids_ports_timings_and_terms_become_placeholders() {
        assert_eq!(
            normalize("lease 694d5765fc71500b granted with TTL(300s)\n"),
            "lease <ID> granted with TTL(300s)\n"
        );
        assert_eq!(
            normalize("lease 694d5765fc71500b granted with TTL(300s), remaining(299s)\n"),
            "lease <ID> granted with TTL(300s), remaining(<N>s)\n"
        );
        assert_eq!(
            normalize(
                "127.0.0.1:40123 is healthy: successfully committed proposal: took = 1.2ms\n"
            ),
            "127.0.0.1:<PORT> is healthy: successfully committed proposal: took = <DURATION>\n"
        );
        assert_eq!(
            normalize("{\"header\":{\"cluster_id\":14841639068965178418,\"raft_term\":2}}"),
            "{\"header\":{\"cluster_id\":<ID>,\"raft_term\":<TERM>}}\n"
        );
    }

    #[test]
    fn revisions_values_and_client_logs() {
        assert_eq!(normalize("foo\nv1\n"), "foo\nv1\n");
        assert_eq!(normalize("{\"level\":\"warn\",\"ts\":\"x\"}\nError: boom\n"), "Error: boom\n");
        assert_eq!(normalize("compacted revision 3\n"), "compacted revision 3\n");
        assert_eq!(normalize(""), "");
    }
}
