//! A command-line tool running in the background (e.g. `etcdctl lock`, `etcdctl elect`), with its
//! standard output read line by line as it comes, so a test can wait for "now I hold the lock"
//! while it does other things. The process is killed when dropped: no test leaves one behind.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub struct Background {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Background {
    /// Starts `command` with its stdout piped (stderr is kept for failure messages).
    pub fn start(mut command: Command) -> Background {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the command starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let (sender, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if sender.send(line).is_err() {
                    return;
                }
            }
        });
        Background { child, lines }
    }

    /// The next line of output, if one arrives within `limit`.
    pub fn next_line(&self, limit: Duration) -> Option<String> {
        self.lines.recv_timeout(limit).ok()
    }

    /// Whether the process has exited (without waiting).
    pub fn has_exited(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)))
    }

    /// Waits at most `limit` for the process to exit on its own.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// Sends SIGINT (what Ctrl-C does), letting the tool clean up as it would for a user.
    pub fn interrupt(&self) {
        let status = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "could not interrupt process {}", self.child.id());
    }

    /// What the process wrote to stderr (after it exited), for failure messages.
    pub fn stderr(&mut self) -> String {
        let mut text = String::new();
        if self.has_exited() {
            if let Some(stderr) = self.child.stderr.as_mut() {
                let _ = std::io::Read::read_to_string(stderr, &mut text);
            }
        }
        text
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
