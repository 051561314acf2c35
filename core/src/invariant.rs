//! Invariants said in code: [`invariant!`](crate::invariant!), an assertion that is on in debug
//! builds *and* in the simulator build.
//!
//! The module docs state what must always hold (a watch hub's revisions only grow, the store's
//! revision rises by exactly one per change, the WAL acknowledges nothing before its fsync, a
//! member's applied index never goes backwards). `invariant!` checks such a statement where it is
//! kept. `debug_assert!` alone would not do: the simulator is built `--release --cfg madsim`, so
//! it would skip every check exactly where seeds explore the rare paths. A failed invariant
//! panics; inside a simulated run a panic is that seed's `panic` failure with its replay command
//! (see `detcd_sim::simulate`), so a broken invariant shows up as a failing seed.
//!
//! Invariants: an `invariant!` never changes what the code does when it holds, and its condition
//! is not evaluated at all where the checks are off (the server's release build), so conditions
//! must be cheap and free of side effects. It guards the core's own bookkeeping, never user
//! input: bad input is refused with an error, not a panic.

/// Whether `invariant!` checks run in this build of the core: debug builds and the simulator.
pub const ENABLED: bool = cfg!(any(debug_assertions, madsim));

/// Panics with `invariant violated: ...` when `$condition` is false, in debug and simulator
/// builds; compiles to nothing elsewhere. The message names the invariant and the values seen.
#[macro_export]
macro_rules! invariant {
    ($condition:expr, $($message:tt)+) => {
        if $crate::invariant::ENABLED && !($condition) {
            $crate::invariant::violated(format_args!($($message)+));
        }
    };
}

/// The panic of a failed `invariant!`, out of line so the check itself stays small.
#[cold]
#[inline(never)]
#[track_caller]
pub fn violated(message: std::fmt::Arguments<'_>) -> ! {
    panic!("invariant violated: {message}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_holding_invariant_does_nothing() {
        let mut evaluated = false;
        crate::invariant!(
            {
                evaluated = true;
                true
            },
            "never shown"
        );
        assert_eq!(evaluated, super::ENABLED, "the condition runs only where checks are on");
    }

    #[cfg(any(debug_assertions, madsim))]
    #[test]
    #[should_panic(expected = "invariant violated: 2 is not below 1")]
    fn a_broken_invariant_panics_with_its_message() {
        let (low, high) = (2, 1);
        crate::invariant!(low < high, "{low} is not below {high}");
    }
}
