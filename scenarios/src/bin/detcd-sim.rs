//! detcd-sim: the simulator's command line.

use std::io::Write;

use clap::{Args, Parser, Subcommand};
use detcd_check::cli::{check_files, ModelName};

#[derive(Parser)]
#[command(name = "detcd-sim", about = "detcd's deterministic simulator", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check recorded histories for linearizability.
    Check(CheckArgs),
}

#[derive(Args)]
struct CheckArgs {
    /// History files: JSON Lines, or Jepsen EDN when the name ends in `.edn`.
    #[arg(required = true)]
    files: Vec<String>,
    /// The model to check against: register, kv or etcd.
    #[arg(long, value_parser = ["register", "kv", "etcd"])]
    model: String,
    /// Give up on a file after this many milliseconds (verdict: unknown).
    #[arg(long)]
    budget_ms: Option<u64>,
}

fn main() {
    let status = match Cli::parse().command {
        Command::Check(args) => check(args),
    };
    std::process::exit(status);
}

fn check(args: CheckArgs) -> i32 {
    let model: ModelName = match args.model.parse() {
        Ok(model) => model,
        Err(error) => {
            eprintln!("{error}");
            return 2;
        }
    };
    let budget = args.budget_ms.map(std::time::Duration::from_millis);
    let output = check_files(&args.files, model, budget);
    // Write errors (a closed pipe, as in `| head`) must not panic: the status still tells.
    let mut stdout = std::io::stdout().lock();
    for line in output.lines {
        if writeln!(stdout, "{line}").is_err() {
            break;
        }
    }
    output.status
}
