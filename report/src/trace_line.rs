//! One trace line taken apart: `   4.102s n2   leader term=3 leader=n2` -> (4.102, "n2", "leader ...").

/// A parsed trace line.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceLine<'a> {
    /// Virtual seconds since the run began.
    pub at: f64,
    /// `sim`, a member `n3` or a client `c2`.
    pub who: &'a str,
    pub what: &'a str,
}

/// Parses a line; `None` if it does not have the trace's shape.
pub fn parse(line: &str) -> Option<TraceLine<'_>> {
    let line = line.trim_start();
    let (time, rest) = line.split_once("s ")?;
    let at: f64 = time.parse().ok().filter(|t: &f64| t.is_finite())?;
    let rest = rest.trim_start();
    let (who, what) = rest.split_once(' ').unwrap_or((rest, ""));
    Some(TraceLine { at, who, what: what.trim_start() })
}

/// The member number in `n3`, if `who` names a member.
pub fn member(who: &str) -> Option<u64> {
    who.strip_prefix('n')?.parse().ok()
}

/// The client number in `c3`, if `who` names a client.
pub fn client(who: &str) -> Option<u64> {
    who.strip_prefix('c')?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_member_sim_and_client_lines() {
        let line = parse("    4.102s n2   leader term=3 leader=n2").unwrap();
        assert_eq!((line.at, line.who, line.what), (4.102, "n2", "leader term=3 leader=n2"));
        let line = parse("    0.074s c3     -> {\"revision\":2}").unwrap();
        assert_eq!((line.who, line.what), ("c3", "-> {\"revision\":2}"));
        assert_eq!(parse("garbage"), None);
        assert_eq!(member("n12"), Some(12));
        assert_eq!(client("n12"), None);
    }
}
