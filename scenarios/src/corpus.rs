//! The committed corpus of seeds that once failed and now must pass, replayed on every test run.
//!
//! A corpus file holds one replay command per line, exactly as `sweep` appends them to
//! `target/detcd-reports/corpus.txt` (`cargo sim run <scenario> --seed N [--nodes N] [--clients
//! N] [--duration S] [--intensity X] [--faults a,b] [--no-faults] [--buggify]`); blank lines and
//! `#` comments are skipped. A planted bug (`--plant`) is refused: planted runs are meant to fail,
//! so they belong in `PLANTED.md`, not here. `swarm` lines are refused too: which scenario a swarm
//! seed picks changes whenever the catalog does, so a swarm seed does not name one run for long
//! (replay it with `run <scenario>` and the shape it printed instead).

use crate::scenario::ScenarioOptions;
use detcd_sim::plan::FaultKind;
use std::time::Duration;

/// One corpus line: what to run.
#[derive(Debug, Clone, PartialEq)]
pub struct Replay {
    pub scenario: String,
    pub seed: u64,
    pub options: ScenarioOptions,
}

/// The runs a corpus file names, or the first line it cannot read (with its number).
pub fn parse(text: &str) -> Result<Vec<Replay>, String> {
    text.lines()
        .enumerate()
        .map(|(number, line)| (number + 1, line.trim()))
        .filter(|(_, line)| !line.is_empty() && !line.starts_with('#'))
        .map(|(number, line)| parse_line(line).map_err(|why| format!("line {number}: {why}")))
        .collect()
}

/// One replay command.
pub fn parse_line(line: &str) -> Result<Replay, String> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let Some(["cargo", "sim", "run", scenario, flags @ ..]) = Some(words.as_slice()) else {
        return Err(format!("not a `cargo sim run <scenario> ...` command: {line:?}"));
    };
    if *scenario == "swarm" {
        return Err("swarm seeds change meaning with the catalog; name the scenario".into());
    }
    let mut replay =
        Replay { scenario: scenario.to_string(), seed: 0, options: ScenarioOptions::default() };
    let mut seed = None;
    let mut flags = flags.iter();
    while let Some(flag) = flags.next() {
        let mut value = || flags.next().copied().ok_or(format!("{flag} needs a value"));
        let options = &mut replay.options;
        match *flag {
            "--seed" => seed = Some(number(flag, value()?)?),
            "--nodes" => options.members = Some(number(flag, value()?)?),
            "--clients" => options.clients = Some(number(flag, value()?)?),
            "--duration" => options.duration = Some(seconds(value()?)?),
            "--intensity" => options.intensity = Some(number(flag, value()?)?),
            "--faults" => options.faults = Some(kinds(value()?)?),
            "--no-faults" => options.no_faults = true,
            "--buggify" => options.buggify = true,
            "--plant" => return Err("planted bugs are meant to fail; they belong elsewhere".into()),
            other => return Err(format!("unknown flag {other}")),
        }
    }
    replay.seed = seed.ok_or("no --seed")?;
    Ok(replay)
}

fn number<T: std::str::FromStr>(flag: &str, text: &str) -> Result<T, String> {
    text.parse().map_err(|_| format!("{flag} {text}: not a number"))
}

fn seconds(text: &str) -> Result<Duration, String> {
    let seconds: f64 = number("--duration", text)?;
    Duration::try_from_secs_f64(seconds).map_err(|_| format!("--duration {text}: not a length"))
}

fn kinds(text: &str) -> Result<std::collections::BTreeSet<FaultKind>, String> {
    text.split(',')
        .map(|name| {
            serde_json::from_value(serde_json::Value::String(name.to_string()))
                .map_err(|_| format!("--faults: unknown fault kind {name:?}"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_sweep_writes() {
        let line = "cargo sim run kv --seed 17 --nodes 5 --clients 2 --duration 6.5 --intensity 3 \
                    --faults partition,clock --buggify";
        let replay = parse_line(line).unwrap();
        assert_eq!((replay.scenario.as_str(), replay.seed), ("kv", 17));
        let options = replay.options;
        assert_eq!((options.members, options.clients), (Some(5), Some(2)));
        assert_eq!(options.duration, Some(Duration::from_millis(6_500)));
        assert_eq!(options.intensity, Some(3.0));
        assert_eq!(options.faults, Some([FaultKind::Partition, FaultKind::Clock].into()));
        assert!(options.buggify && !options.no_faults);
    }

    #[test]
    fn skips_comments_and_numbers_bad_lines() {
        let text = "# a comment\n\ncargo sim run lock --seed 80\ncargo sim run lock\n";
        assert_eq!(parse(text).unwrap_err(), "line 4: no --seed");
        assert_eq!(parse("cargo sim run lock --seed 80\n").unwrap()[0].seed, 80);
    }

    #[test]
    fn refuses_plants_swarm_and_nonsense() {
        assert!(parse_line("cargo sim run kv --seed 1 --plant stale-read").is_err());
        assert!(parse_line("cargo sim run swarm --seed 1").is_err());
        assert!(parse_line("cargo sim run kv --seed x").unwrap_err().contains("not a number"));
        assert!(parse_line("cargo sim run kv --seed 1 --faults nope").is_err());
        assert!(parse_line("cargo sim run kv --seed 1 --duration -3").is_err());
        assert!(parse_line("rm -rf /").is_err());
    }
}
