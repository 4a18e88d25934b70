//! The interactive session, driven in a pseudo-terminal as a person would use it.

mod common;

use std::process::Command;

use common::*;
use rexpect::session::spawn_command;

/// An interactive session in a pseudo-terminal, in a clean environment (see `Inferno`); the
/// returned `Inferno` keeps its temporary home alive.
fn session() -> (rexpect::session::PtySession, Inferno) {
    let mut inf = Inferno::new().args([
        "run",
        "-m",
        model(QWEN).to_str().unwrap(),
        "--temp",
        "0",
        "-t",
        "2",
        "-n",
        "48",
    ]);
    // rexpect connects the pty to stdin/stdout/stderr itself.
    let cmd = std::mem::replace(&mut inf.cmd, Command::new("true"));
    (
        spawn_command(cmd, Some(60_000)).expect("spawn in a pty"),
        inf,
    )
}

/// Wait for the next prompt and return what was shown before it.
fn until_prompt(p: &mut rexpect::session::PtySession) -> String {
    p.exp_string(">>> ").expect("a prompt")
}

#[test]
fn two_turns_clear_and_bye() {
    let _one = exclusive();
    let (mut p, _env) = session();
    let banner = until_prompt(&mut p);
    assert!(banner.contains("chatting with qwen2.5-coder"), "{banner}");

    p.send_line("My name is Ada. Reply with just: OK").unwrap();
    let first = until_prompt(&mut p);
    assert!(first.contains("OK"), "first reply: {first:?}");

    // The second turn sees the first: the conversation is kept.
    p.send_line("What is my name? Reply with the name only.")
        .unwrap();
    let second = until_prompt(&mut p);
    assert!(second.contains("Ada"), "second reply: {second:?}");

    p.send_line("/clear").unwrap();
    let cleared = until_prompt(&mut p);
    assert!(cleared.contains("conversation cleared"), "{cleared:?}");
    p.send_line("What is my name? Reply with the name only.")
        .unwrap();
    let forgotten = until_prompt(&mut p);
    assert!(
        !forgotten.replace("What is my name", "").contains("Ada"),
        "after /clear: {forgotten:?}"
    );

    p.send_line("/help").unwrap();
    let help = until_prompt(&mut p);
    assert!(help.contains("/clear") && help.contains("/bye"), "{help:?}");

    p.send_line("/bye").unwrap();
    p.exp_eof().unwrap();
    let status = p.process.wait().unwrap();
    assert_eq!(
        format!("{status:?}"),
        format!("Exited(Pid({}), 0)", p.process.child_pid)
    );
}

#[test]
fn multi_line_input_and_ctrl_c() {
    let _one = exclusive();
    let (mut p, _env) = session();
    until_prompt(&mut p);
    p.send_line("\"\"\"").unwrap();
    p.exp_string("... ").unwrap();
    p.send_line("Translate to French:").unwrap();
    p.exp_string("... ").unwrap();
    p.send_line("Good morning\"\"\"").unwrap();
    let reply = until_prompt(&mut p);
    assert!(reply.contains("Bonjour"), "{reply:?}");

    // Ctrl-C while a reply streams stops that reply and returns to the prompt.
    p.send_line("Write a very long essay about the history of Rome.")
        .unwrap();
    p.exp_regex("[A-Za-z]{4}").unwrap();
    p.send_control('c').unwrap();
    until_prompt(&mut p);
    // Ctrl-C at the prompt exits with 130.
    p.send_control('c').unwrap();
    p.exp_eof().unwrap();
    let status = p.process.wait().unwrap();
    assert_eq!(
        format!("{status:?}"),
        format!("Exited(Pid({}), 130)", p.process.child_pid)
    );
}

#[test]
fn ctrl_d_exits_zero() {
    let _one = exclusive();
    let (mut p, _env) = session();
    until_prompt(&mut p);
    p.send_control('d').unwrap();
    p.exp_eof().unwrap();
    let status = p.process.wait().unwrap();
    assert_eq!(
        format!("{status:?}"),
        format!("Exited(Pid({}), 0)", p.process.child_pid)
    );
}

/// When the chat's context cannot be created (here: an address-space limit leaves room for
/// the weights but not for a 32768-token context), the user sees llama.cpp's reason and the
/// exit code for it (7), before any prompt; not "the generation thread stopped" with 1.
#[test]
fn a_context_that_cannot_be_created_is_reported_with_its_exit_code() {
    use std::os::unix::process::CommandExt;
    let _one = exclusive();
    let mut inf = Inferno::new().args(["run", "-m", model(QWEN).to_str().unwrap(), "-c", "32768"]);
    let limit: libc::rlim_t = 1_200_000 * 1024;
    // SAFETY: setrlimit is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        inf.cmd.pre_exec(move || {
            let r = libc::rlimit {
                rlim_cur: limit,
                rlim_max: limit,
            };
            if libc::setrlimit(libc::RLIMIT_AS, &r) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let cmd = std::mem::replace(&mut inf.cmd, Command::new("true"));
    let mut p = spawn_command(cmd, Some(60_000)).expect("spawn in a pty");
    let before = p.exp_eof().unwrap();
    assert!(
        before.contains("could not create a context of 32768 tokens"),
        "{before}"
    );
    assert!(!before.contains(">>> "), "no prompt was shown: {before}");
    let status = p.process.wait().unwrap();
    assert_eq!(
        format!("{status:?}"),
        format!("Exited(Pid({}), 7)", p.process.child_pid)
    );
}
