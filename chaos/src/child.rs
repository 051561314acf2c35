//! How the run starts a process of its own (a member, a delayer): in a process group of its
//! own, so a terminal's Ctrl-C reaches only the run, which stops its children itself; told by
//! the kernel (`PR_SET_PDEATHSIG`) when the run dies, however it dies; and, for network faults,
//! inside a network namespace, entered by `setns(2)` between fork and exec so its pid is an
//! ordinary child of the run.
//!
//! Invariant: between fork and exec the child makes only async-signal-safe calls (setpgid,
//! prctl, setns); the namespace's file must stay open in the parent until `spawn` returned.

use std::os::fd::RawFd;
use std::os::unix::process::CommandExt;
use std::process::Command;

/// Makes `command` start in its own process group, get `death_signal` when the run dies, and
/// enter the network namespace open at `namespace`, if any.
pub fn confine(command: &mut Command, death_signal: libc::c_int, namespace: Option<RawFd>) {
    // SAFETY: only async-signal-safe calls between fork and exec (see the module docs).
    unsafe {
        command.pre_exec(move || {
            libc::setpgid(0, 0);
            libc::prctl(libc::PR_SET_PDEATHSIG, death_signal);
            if let Some(fd) = namespace {
                if libc::setns(fd, libc::CLONE_NEWNET) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
}
