//! `inferno completions SHELL` and `inferno man`: generated from the same clap definitions as
//! the parser (clap_complete, clap_mangen), as ripgrep and fd ship theirs, so they never drift.

use clap_complete::Shell;

use crate::cli;
use crate::output;

pub fn completions(shell: Shell) -> anyhow::Result<()> {
    let mut cmd = cli::command();
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut cmd, "inferno", &mut buf);
    output::stdout(&String::from_utf8(buf)?)?;
    Ok(())
}

/// One page: the program's synopsis and commands, then every subcommand's options.
pub fn man() -> anyhow::Result<()> {
    let cmd = cli::command();
    let mut buf = Vec::new();
    clap_mangen::Man::new(cmd.clone()).render(&mut buf)?;
    for sub in cmd.get_subcommands() {
        let name = format!("inferno {}", sub.get_name());
        let sub = sub.clone().bin_name(name.clone());
        buf.extend_from_slice(format!(".SH \"{}\"\n", name.to_uppercase()).as_bytes());
        if let Some(about) = sub.get_about() {
            buf.extend_from_slice(format!("{about}\n").as_bytes());
        }
        let man = clap_mangen::Man::new(sub);
        man.render_synopsis_section(&mut buf)?;
        man.render_options_section(&mut buf)?;
    }
    output::stdout(&String::from_utf8(buf)?)?;
    Ok(())
}
