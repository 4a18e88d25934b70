//! `inferno rpc-worker`: one local device served to `--rpc` clients by ggml's own RPC server
//! ([`crate::engine::rpc`]). The protocol has no authentication and a history of
//! memory-safety reports, so the worker listens on 127.0.0.1 unless `--host` says otherwise,
//! and says on every start what a reachable port means.

use super::{Global, settings};
use crate::cli::RpcWorkerArgs;
use crate::config::Layer;
use crate::engine;
use crate::error::{Exit, fail};
use crate::output;

pub async fn rpc_worker(args: RpcWorkerArgs, global: &Global) -> anyhow::Result<()> {
    let s = settings(global, Layer::default())?;
    let threads = args.threads.unwrap_or(s.backend.threads);
    if threads == 0 {
        return Err(fail(
            Exit::Usage,
            "invalid -t/--threads 0: must be at least 1",
        ));
    }
    if let Some(dir) = &args.cache {
        std::fs::create_dir_all(dir).map_err(|e| {
            fail(
                Exit::Usage,
                format!("cannot use --cache {}: {e}", dir.display()),
            )
        })?;
    }
    let endpoint = if args.host.contains(':') {
        format!("[{}]:{}", args.host, args.port)
    } else {
        format!("{}:{}", args.host, args.port)
    };
    // ggml's server reports a busy port only on its stdout and returns; bind first so the
    // error names the address (the port is free again before ggml binds it).
    std::net::TcpListener::bind(&endpoint).map_err(|e| {
        fail(
            Exit::Usage,
            format!(
                "cannot listen on {endpoint}: {e} (choose another --port, or stop what uses it)"
            ),
        )
    })?;
    output::message(&format!(
        "warning: the RPC protocol has no authentication: anyone who can reach {endpoint} can run code on this machine; use it on trusted networks only (an SSH tunnel or WireGuard otherwise)"
    ));
    // ggml prints its banner with printf; stdout stays for results, so send it to stderr.
    // SAFETY: dup2 on the process's own standard descriptors.
    unsafe {
        libc::dup2(2, 1);
    }
    let (device, cache) = (args.device.clone(), args.cache.clone());
    let interrupts = global.interrupts.clone();
    let serve = tokio::task::spawn_blocking(move || {
        engine::rpc::serve(
            &endpoint,
            device.as_deref(),
            threads as usize,
            cache.as_deref(),
        )
    });
    tokio::select! {
        r = serve => r?.map(|_| ()),
        () = interrupts.wait() => Err(fail(interrupts.exit().unwrap_or(Exit::Interrupted), "")),
    }
}
