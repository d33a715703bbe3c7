//! venvdeb's entry point: parse the command line, run one command, map its
//! outcome to the documented exit code (see `venvdeb::exit`).
use clap::Parser;

fn main() {
    let cli = venvdeb::cli::Cli::parse();
    let code = match venvdeb::cli::run(cli) {
        Ok(()) => 0,
        Err(err) => venvdeb::exit::report(&err),
    };
    std::process::exit(code);
}
