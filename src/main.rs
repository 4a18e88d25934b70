//! inferno: run GGUF language models locally through llama.cpp.
//!
//! `main` parses the command line, sets up logging, dispatches to a subcommand and turns the
//! outcome into an exit code. Errors are printed as one line on stderr; never a backtrace.

use clap::Parser;

use inferno::cli::{Cli, Command};
use inferno::commands::{self, Global};
use inferno::error::{self, exit_of};
use inferno::{output, signals};

fn main() {
    // ggml would attach gdb to print a backtrace (onto stdout) from its C++ terminate hook;
    // crashes are reported in one line instead (engine::crash). Set before any thread starts.
    // SAFETY: single-threaded here; nothing reads the environment concurrently.
    unsafe { std::env::set_var("GGML_NO_BACKTRACE", "1") };
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind as K;
            let help = matches!(
                e.kind(),
                K::DisplayHelp | K::DisplayVersion | K::DisplayHelpOnMissingArgumentOrSubcommand
            );
            if help {
                // --help and --version print to stdout and succeed; bare `inferno` shows help.
                let _ = e.print();
                std::process::exit(if e.use_stderr() {
                    error::Exit::Usage.code()
                } else {
                    0
                });
            }
            // Usage errors in one line, like every other error.
            let text = e.render().to_string();
            let first = text.lines().next().unwrap_or("invalid arguments");
            let first = first.strip_prefix("error: ").unwrap_or(first);
            output::message(&format!("{first} (see --help)"));
            std::process::exit(error::Exit::Usage.code());
        }
    };
    init_tracing(cli.verbose);
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            output::message(&format!("cannot start the async runtime: {e}"));
            std::process::exit(error::Exit::Internal.code());
        }
    };
    let result = runtime.block_on(async {
        let global = Global {
            config: cli.config.clone(),
            verbose: cli.verbose,
            interrupts: signals::Interrupts::install(),
        };
        match cli.command {
            Command::Run(args) => commands::run::run(args, &global).await,
            Command::Info(args) => commands::info::info(args, &global).await,
            Command::Serve(args) => commands::serve::serve(args, &global).await,
            Command::Bench(args) => commands::bench::bench(args, &global).await,
            Command::RpcWorker(args) => commands::rpc_worker::rpc_worker(args, &global).await,
            Command::Completions { shell } => commands::completions::completions(shell),
            Command::Man => commands::completions::man(),
        }
    });
    let code = match result {
        Ok(()) => 0,
        Err(e) => {
            let message = format!("{e:#}");
            if !message.is_empty() {
                output::message(&message);
            }
            exit_of(&e).code()
        }
    };
    // Exit without dropping the runtime: every blocking task has finished by now, and waiting
    // for the runtime's idle threads would only add latency.
    std::process::exit(code);
}

/// Our diagnostics and llama.cpp's log go through tracing to stderr. Default: only our
/// warnings; `-v` adds llama.cpp's log; `-vv` debug detail; `RUST_LOG` overrides all.
fn init_tracing(verbose: u8) {
    use tracing_subscriber::EnvFilter;
    let default = match verbose {
        0 => "warn,llama_cpp=off,llama_cpp_2=off",
        1 => "info,llama_cpp=info",
        _ => "debug",
    };
    let filter = match std::env::var("RUST_LOG") {
        Ok(v) if !v.is_empty() => EnvFilter::try_new(v).unwrap_or_else(|_| EnvFilter::new(default)),
        _ => EnvFilter::new(default),
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(output::stderr_is_styled())
        .without_time()
        .init();
}
