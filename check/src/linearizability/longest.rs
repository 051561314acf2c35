//! The longest linearised prefix the search has seen, kept up to date in amortised O(1) per
//! search step.
//!
//! Copying the whole choice stack each time it grows past the longest prefix costs O(depth) per
//! new record: quadratic on a long history checked as one partition, where the stack climbs
//! one step at a time to thousands of choices. Instead the record remembers how many of its
//! leading operations the stack still shares (`shared`); when the stack outgrows it, only the
//! part past that point is copied, and every pushed choice is copied at most once per time it
//! is pushed.
//!
//! Invariant: `ops[..shared]` equals the first `shared` operations on the stack.

/// The longest prefix of linearised operations seen so far.
#[derive(Debug, Default)]
pub struct Longest {
    ops: Vec<usize>,
    shared: usize,
}

impl Longest {
    /// The stack now holds `stack_len` choices, the newest being `op`.
    pub fn pushed(&mut self, op: usize, stack_len: usize) {
        let position = stack_len - 1;
        if self.shared == position && self.ops.get(position) == Some(&op) {
            self.shared = stack_len;
        }
    }

    /// The stack was cut back to `stack_len` choices.
    pub fn popped(&mut self, stack_len: usize) {
        self.shared = self.shared.min(stack_len);
    }

    /// Whether a stack of `stack_len` choices is a new record.
    pub fn is_beaten_by(&self, stack_len: usize) -> bool {
        stack_len > self.ops.len()
    }

    /// Records the stack (oldest choice first; `op_of` names a choice's operation) as the new
    /// longest prefix. Reads only the choices past the shared part.
    pub fn record<T>(&mut self, stack: &[T], op_of: impl Fn(&T) -> usize) {
        self.ops.truncate(self.shared);
        self.ops.extend(stack[self.shared..].iter().map(op_of));
        self.shared = stack.len();
    }

    pub fn into_ops(self) -> Vec<usize> {
        self.ops
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Replays pushes and pops on a plain stack and checks the record against a full copy.
    #[test]
    fn the_record_is_always_the_stack_at_its_deepest() {
        let script: &[Option<usize>] = &[
            Some(1),
            Some(2),
            Some(3),
            None,
            None,
            Some(4),
            Some(5),
            Some(6),
            Some(7),
            None,
            None,
            None,
            None,
            Some(9),
            Some(8),
            Some(7),
            Some(6),
            Some(5),
        ];
        let mut stack: Vec<usize> = Vec::new();
        let mut longest = Longest::default();
        let mut expected: Vec<usize> = Vec::new();
        for step in script {
            match step {
                Some(op) => {
                    stack.push(*op);
                    longest.pushed(*op, stack.len());
                    if longest.is_beaten_by(stack.len()) {
                        longest.record(&stack, |op| *op);
                        expected = stack.clone();
                    }
                }
                None => {
                    stack.pop();
                    longest.popped(stack.len());
                }
            }
            assert_eq!(longest.ops, expected);
        }
        assert_eq!(longest.into_ops(), vec![1, 9, 8, 7, 6, 5]);
    }
}
