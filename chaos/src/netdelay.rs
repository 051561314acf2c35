//! The userspace delayer behind `detcd-chaos netdelay` (a hidden subcommand): where the kernel
//! has no `tc netem`, a degraded link's latency is made by an iptables `NFQUEUE` rule in the
//! member's namespace that hands each outgoing packet to this process, which holds it for the
//! fault's delay and then lets it go (an ACCEPT verdict).
//!
//! It runs inside the member's network namespace (the queue's netlink socket belongs to the
//! namespace it is opened in; `latency` starts it there), binds queue `--queue`, prints
//! `listening` once packets can be queued to it, and on SIGTERM or SIGINT still lets every
//! held packet go at its time, then prints `delayed N` (how many packets it held) and exits.
//!
//! Invariants:
//! - packets leave in the order they came (a later packet is never released before an earlier
//!   one), so the delay reorders nothing, as netem without jitter;
//! - every packet gets exactly one verdict, and it is always ACCEPT: the delayer never drops
//!   (loss is the nftables rule's job), so a counted packet is a delayed packet;
//! - only the packets' metadata is copied to userspace (copy range 0), never their payload.

use crate::interrupt;
use nfq::{Queue, Verdict};
use std::collections::VecDeque;
use std::io::{ErrorKind, Write};
use std::time::{Duration, Instant};

/// How many packets the kernel holds for the delayer before it drops new ones (netem's default
/// `limit` is 1000; a delay of 200 ms at a few thousand packets a second needs more).
const QUEUE_MAX_LEN: u32 = 16_384;
/// How long the loop sleeps when nothing arrives and nothing is due sooner: the delay is late
/// by at most this much.
const IDLE: Duration = Duration::from_millis(1);

/// Serves queue `queue` until interrupted, holding each packet `delay`; returns how many packets
/// it delayed. Prints `listening` on standard output once bound.
pub fn serve(queue_num: u16, delay: Duration) -> Result<u64, String> {
    let mut queue = Queue::open().map_err(|e| format!("opening a netfilter queue socket: {e}"))?;
    queue.bind(queue_num).map_err(|e| format!("binding queue {queue_num}: {e}"))?;
    queue.set_copy_range(queue_num, 0).map_err(|e| format!("copy range: {e}"))?;
    // GSO packets queued whole rather than segmented first: fewer packets, same bytes.
    queue.set_recv_gso(queue_num, true).map_err(|e| format!("GSO: {e}"))?;
    queue.set_queue_max_len(queue_num, QUEUE_MAX_LEN).map_err(|e| format!("queue length: {e}"))?;
    queue.set_nonblocking(true);
    let mut stdout = std::io::stdout();
    writeln!(stdout, "listening").and_then(|()| stdout.flush()).map_err(|e| e.to_string())?;

    let mut held: VecDeque<(Instant, nfq::Message)> = VecDeque::new();
    let mut delayed = 0u64;
    loop {
        let mut arrived = false;
        loop {
            match queue.recv() {
                Ok(mut message) => {
                    message.set_verdict(Verdict::Accept);
                    held.push_back((Instant::now() + delay, message));
                    delayed += 1;
                    arrived = true;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(format!("receiving from queue {queue_num}: {e}")),
            }
        }
        let now = Instant::now();
        while held.front().is_some_and(|(due, _)| *due <= now) {
            if let Some((_, message)) = held.pop_front() {
                queue.verdict(message).map_err(|e| format!("verdict: {e}"))?;
            }
        }
        if interrupt::requested() && held.is_empty() && !arrived {
            break;
        }
        let next = held.front().map_or(IDLE, |(due, _)| due.saturating_duration_since(now));
        std::thread::sleep(next.min(IDLE));
    }
    let _ = queue.unbind(queue_num);
    Ok(delayed)
}
