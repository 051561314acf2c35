//! Latencies in, a summary out: the maths and the two renderings (etcd-benchmark text, one TSV line).
//!
//! Each client records into its own [`Recorder`] (no sharing on the hot path); the run merges them.
//! Latencies are kept in microseconds in an HdrHistogram with three significant digits, so a
//! percentile is exact to within 0.1 %. Requests/s counts successful requests only: errors are
//! reported beside it, never mixed into throughput or percentiles.

use hdrhistogram::Histogram;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::time::Duration;

/// The slowest latency a histogram can hold; slower ones are counted at this value.
const MAX_LATENCY_US: u64 = 600_000_000;

/// One client's (or the merged run's) outcomes.
#[derive(Debug, Clone)]
pub struct Recorder {
    latencies_us: Histogram<u64>,
    /// Failed requests by message, sorted so the output is stable.
    errors: BTreeMap<String, u64>,
}

impl Default for Recorder {
    fn default() -> Self {
        Recorder::new()
    }
}

impl Recorder {
    pub fn new() -> Recorder {
        // The bounds are constants that hdrhistogram accepts, so this cannot fail.
        let latencies_us = Histogram::new_with_bounds(1, MAX_LATENCY_US, 3)
            .expect("constant histogram bounds are valid");
        Recorder { latencies_us, errors: BTreeMap::new() }
    }

    pub fn success(&mut self, latency: Duration) {
        let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        self.latencies_us.saturating_record(micros.clamp(1, MAX_LATENCY_US));
    }

    pub fn failure(&mut self, message: String) {
        *self.errors.entry(message).or_default() += 1;
    }

    pub fn merge(&mut self, other: &Recorder) {
        // Same bounds on both sides, so adding cannot fail; saturate rather than panic anyway.
        if self.latencies_us.add(&other.latencies_us).is_err() {
            for value in other.latencies_us.iter_recorded() {
                let count = value.count_at_value();
                let _ = self.latencies_us.record_n(value.value_iterated_to(), count);
            }
        }
        for (message, count) in &other.errors {
            *self.errors.entry(message.clone()).or_default() += count;
        }
    }

    pub fn summarise(&self, elapsed: Duration) -> Summary {
        let h = &self.latencies_us;
        let ok = h.len();
        let at = |quantile: f64| if ok == 0 { 0.0 } else { h.value_at_quantile(quantile) as f64 };
        let secs = elapsed.as_secs_f64();
        Summary {
            elapsed,
            ok,
            errors: self.errors.values().sum(),
            requests_per_sec: if secs > 0.0 { ok as f64 / secs } else { 0.0 },
            fastest_us: if ok == 0 { 0.0 } else { h.min() as f64 },
            slowest_us: if ok == 0 { 0.0 } else { h.max() as f64 },
            mean_us: h.mean(),
            stddev_us: h.stdev(),
            p50_us: at(0.50),
            p99_us: at(0.99),
            p999_us: at(0.999),
            error_messages: self.errors.clone(),
        }
    }
}

/// A run's figures. Latencies in microseconds.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub elapsed: Duration,
    pub ok: u64,
    pub errors: u64,
    pub requests_per_sec: f64,
    pub fastest_us: f64,
    pub slowest_us: f64,
    pub mean_us: f64,
    pub stddev_us: f64,
    pub p50_us: f64,
    pub p99_us: f64,
    pub p999_us: f64,
    pub error_messages: BTreeMap<String, u64>,
}

fn secs(us: f64) -> f64 {
    us / 1e6
}

impl Summary {
    /// The layout of etcd's `benchmark` tool, latencies in seconds.
    pub fn text(&self, workload: &str) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "Summary ({workload}):");
        let _ = writeln!(out, "  Total:\t{:.4} secs.", self.elapsed.as_secs_f64());
        let _ = writeln!(out, "  Slowest:\t{:.4} secs.", secs(self.slowest_us));
        let _ = writeln!(out, "  Fastest:\t{:.4} secs.", secs(self.fastest_us));
        let _ = writeln!(out, "  Average:\t{:.4} secs.", secs(self.mean_us));
        let _ = writeln!(out, "  Stddev:\t{:.4} secs.", secs(self.stddev_us));
        let _ = writeln!(out, "  Requests/sec:\t{:.4}", self.requests_per_sec);
        let _ = writeln!(out, "  Requests:\t{} ok, {} errors", self.ok, self.errors);
        let _ = writeln!(out, "\nLatency distribution:");
        let _ = writeln!(out, "  50% in {:.4} secs.", secs(self.p50_us));
        let _ = writeln!(out, "  99% in {:.4} secs.", secs(self.p99_us));
        let _ = writeln!(out, "  99.9% in {:.4} secs.", secs(self.p999_us));
        if !self.error_messages.is_empty() {
            let _ = writeln!(out, "\nError distribution:");
            for (message, count) in &self.error_messages {
                let _ = writeln!(out, "  [{count}]\t{message}");
            }
        }
        out
    }

    /// `workload ok errors requests/s p50_ms p99_ms p999_ms`, tab-separated, for scripts.
    pub fn tsv(&self, workload: &str) -> String {
        let ms = |us: f64| us / 1e3;
        format!(
            "{workload}\t{}\t{}\t{:.1}\t{:.3}\t{:.3}\t{:.3}",
            self.ok,
            self.errors,
            self.requests_per_sec,
            ms(self.p50_us),
            ms(self.p99_us),
            ms(self.p999_us)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// 1..=1000 ms, one request each.
    fn ramp() -> Recorder {
        let mut recorder = Recorder::new();
        for n in 1..=1000 {
            recorder.success(ms(n));
        }
        recorder
    }

    /// Within HdrHistogram's three significant digits.
    fn close(actual: f64, expected: f64) -> bool {
        (actual - expected).abs() <= expected * 0.001 + 1.0
    }

    #[test]
    fn percentiles_of_a_ramp_are_its_ranks() {
        let summary = ramp().summarise(Duration::from_secs(2));
        assert!(close(summary.p50_us, 500_000.0), "{}", summary.p50_us);
        assert!(close(summary.p99_us, 990_000.0), "{}", summary.p99_us);
        assert!(close(summary.p999_us, 999_000.0), "{}", summary.p999_us);
        assert!(close(summary.fastest_us, 1_000.0) && close(summary.slowest_us, 1_000_000.0));
        assert!(close(summary.mean_us, 500_500.0), "{}", summary.mean_us);
    }

    #[test]
    fn throughput_counts_successes_per_second_and_errors_apart() {
        let mut recorder = ramp();
        recorder.failure("timed out".into());
        recorder.failure("timed out".into());
        recorder.failure("no leader".into());
        let summary = recorder.summarise(Duration::from_secs(4));
        assert_eq!((summary.ok, summary.errors), (1000, 3));
        assert_eq!(summary.requests_per_sec, 250.0);
        assert_eq!(summary.error_messages.get("timed out"), Some(&2));
    }

    #[test]
    fn merging_clients_adds_their_counts_and_keeps_the_tail() {
        let mut fast = Recorder::new();
        for _ in 0..999 {
            fast.success(ms(1));
        }
        let mut slow = Recorder::new();
        slow.success(ms(800));
        slow.failure("x".into());
        fast.merge(&slow);
        let summary = fast.summarise(Duration::from_secs(1));
        assert_eq!((summary.ok, summary.errors), (1000, 1));
        assert!(close(summary.p50_us, 1_000.0));
        assert!(close(summary.p999_us, 1_000.0), "the 999th of 1000 is still fast");
        assert!(close(summary.slowest_us, 800_000.0));
    }

    #[test]
    fn an_empty_run_has_zero_figures_not_nan() {
        let summary = Recorder::new().summarise(Duration::ZERO);
        assert_eq!((summary.ok, summary.requests_per_sec, summary.p99_us), (0, 0.0, 0.0));
        assert!(!summary.text("put").contains("NaN"));
    }

    #[test]
    fn latencies_beyond_the_histogram_are_clamped_not_lost() {
        let mut recorder = Recorder::new();
        recorder.success(Duration::from_secs(100_000));
        recorder.success(Duration::ZERO);
        assert_eq!(recorder.summarise(Duration::from_secs(1)).ok, 2);
    }

    #[test]
    fn renderings_show_seconds_in_text_and_milliseconds_in_tsv() {
        let summary = ramp().summarise(Duration::from_secs(2));
        let text = summary.text("put");
        assert!(text.contains("Requests/sec:\t500.0000"), "{text}");
        assert!(text.contains("99% in 0.99"), "{text}");
        let tsv = summary.tsv("put");
        let fields: Vec<&str> = tsv.split('\t').collect();
        assert_eq!(&fields[..4], ["put", "1000", "0", "500.0"]);
        let p99_ms: f64 = fields[5].parse().unwrap();
        assert!((p99_ms - 990.0).abs() < 1.0, "{tsv}");
    }
}
