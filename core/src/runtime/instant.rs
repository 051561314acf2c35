//! `NodeInstant`: a point on the current node's own (possibly skewed) monotonic clock.

use super::node_clock;
use std::ops::{Add, AddAssign, Sub, SubAssign};
use std::time::Duration;

/// Time on the node's clock, as a duration since that clock's origin. Comparisons between instants
/// taken on different nodes are meaningless, exactly as with real machines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeInstant(Duration);

impl NodeInstant {
    pub(crate) fn now_local() -> Self {
        NodeInstant(node_clock::local_now())
    }

    /// Time since the node clock's origin.
    pub fn since_origin(self) -> Duration {
        self.0
    }
}

impl openraft_rt::Instant for NodeInstant {
    fn now() -> Self {
        Self::now_local()
    }
}

impl Add<Duration> for NodeInstant {
    type Output = Self;
    fn add(self, rhs: Duration) -> Self {
        NodeInstant(self.0 + rhs)
    }
}

impl AddAssign<Duration> for NodeInstant {
    fn add_assign(&mut self, rhs: Duration) {
        self.0 += rhs;
    }
}

impl Sub<Duration> for NodeInstant {
    type Output = Self;
    fn sub(self, rhs: Duration) -> Self {
        NodeInstant(self.0.saturating_sub(rhs))
    }
}

impl SubAssign<Duration> for NodeInstant {
    fn sub_assign(&mut self, rhs: Duration) {
        self.0 = self.0.saturating_sub(rhs);
    }
}

impl Sub<NodeInstant> for NodeInstant {
    type Output = Duration;
    /// Saturates at zero: a clock that jumped backwards makes intervals short, never negative.
    fn sub(self, rhs: NodeInstant) -> Duration {
        self.0.saturating_sub(rhs.0)
    }
}
