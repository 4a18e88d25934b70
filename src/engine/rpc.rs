//! llama.cpp's RPC backend: remote devices a client uses like local ones, and the worker that
//! serves a local device to them (`inferno rpc-worker`). ggml's own protocol and server; this
//! only reaches its functions (`ggml-rpc.h` is not in the crate's bindings) through the RPC
//! backend's registry entry, as llama.cpp's tools do.
//!
//! The protocol has no authentication: a worker runs whatever a client sends. Workers bind
//! 127.0.0.1 unless told otherwise, and the caller warns.

use std::ffi::{CString, c_char, c_void};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use super::backend::backend;
use crate::error::{Exit, fail};

/// How long a client waits for a worker to accept a connection before saying so.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

type AddServerFn = unsafe extern "C" fn(*const c_char) -> llama_cpp_sys_2::ggml_backend_reg_t;
type StartServerFn = unsafe extern "C" fn(
    *const c_char,
    *const c_char,
    usize,
    usize,
    *mut llama_cpp_sys_2::ggml_backend_dev_t,
);

/// A function of the RPC backend, by name.
fn proc_address(name: &str) -> anyhow::Result<*mut c_void> {
    backend()?;
    let reg_name = CString::new("RPC").expect("no NUL");
    // SAFETY: a NUL-terminated name; ggml returns null when no such backend is registered.
    let reg = unsafe { llama_cpp_sys_2::ggml_backend_reg_by_name(reg_name.as_ptr()) };
    if reg.is_null() {
        return Err(fail(
            Exit::Remote,
            "this build has no RPC backend (libggml-rpc.so missing from the bundle, or built without GGML_RPC)",
        ));
    }
    let c = CString::new(name).expect("no NUL");
    // SAFETY: `reg` is a live registry entry; the name is NUL-terminated.
    let f = unsafe { llama_cpp_sys_2::ggml_backend_reg_get_proc_address(reg, c.as_ptr()) };
    if f.is_null() {
        return Err(fail(Exit::Remote, format!("the RPC backend has no {name}")));
    }
    Ok(f)
}

/// Check that a worker answers at `endpoint` (`HOST:PORT`) within [`CONNECT_TIMEOUT`], with
/// ggml's HELLO handshake on a connection of our own: ggml's client has no timeouts, so an
/// unreachable host would hang it for minutes, and a worker busy with another client (ggml's
/// server takes one client at a time) would hang it for as long as that client stays.
pub fn reachable(endpoint: &str) -> anyhow::Result<()> {
    use std::io::{Read, Write};
    let addrs: Vec<_> = endpoint
        .to_socket_addrs()
        .map_err(|e| {
            fail(
                Exit::Usage,
                format!("invalid --rpc address {endpoint}: {e} (expected HOST:PORT)"),
            )
        })?
        .collect();
    let mut last = None;
    let mut stream = None;
    for a in &addrs {
        match TcpStream::connect_timeout(a, CONNECT_TIMEOUT) {
            Ok(s) => {
                stream = Some(s);
                break;
            }
            Err(e) => last = Some(e),
        }
    }
    let Some(mut stream) = stream else {
        return Err(fail(
            Exit::Remote,
            format!(
                "cannot reach the RPC worker at {endpoint}: {} (is `inferno rpc-worker` running there?)",
                last.map_or_else(|| "no address".to_string(), |e| e.to_string())
            ),
        ));
    };
    // HELLO (command 14) with 24 bytes of transport capabilities, none asked for; the answer
    // is its size (8 bytes) then major, minor, patch, padding and 24 bytes of capabilities.
    const HELLO: u8 = 14;
    const CAPS: usize = 24;
    let mut request = vec![HELLO];
    request.extend_from_slice(&(CAPS as u64).to_le_bytes());
    request.extend_from_slice(&[0u8; CAPS]);
    let mut answer = [0u8; 8 + 4 + CAPS];
    let exchanged = stream
        .set_read_timeout(Some(CONNECT_TIMEOUT))
        .and_then(|()| stream.set_write_timeout(Some(CONNECT_TIMEOUT)))
        .and_then(|()| stream.write_all(&request))
        .and_then(|()| stream.read_exact(&mut answer));
    if let Err(e) = exchanged {
        let why = match e.kind() {
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => {
                "no answer within 5 s (a worker serves one client at a time: is another client using it?)".to_string()
            }
            std::io::ErrorKind::UnexpectedEof => {
                "it closed the connection (is it an `inferno rpc-worker`?)".to_string()
            }
            _ => e.to_string(),
        };
        return Err(fail(
            Exit::Remote,
            format!("the RPC worker at {endpoint} did not complete the handshake: {why}"),
        ));
    }
    let size = u64::from_le_bytes(answer[..8].try_into().expect("8 bytes"));
    let (major, minor, patch) = (answer[8], answer[9], answer[10]);
    if size != (4 + CAPS) as u64 || major != PROTO.0 || minor > PROTO.1 {
        return Err(fail(
            Exit::Remote,
            format!(
                "the RPC worker at {endpoint} speaks RPC protocol {major}.{minor}.{patch}; this build speaks {} (run the same llama.cpp version on both ends)",
                protocol()
            ),
        ));
    }
    Ok(())
}

/// ggml-rpc.h's RPC_PROTO_{MAJOR,MINOR,PATCH}_VERSION.
const PROTO: (u8, u8, u8) = (7, 0, 0);

static ADDED: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

/// The workers this process uses (for messages). Called from the abort callback, possibly
/// while `add_servers` holds the list on the same thread: never waits for it.
pub fn endpoints() -> Vec<String> {
    match ADDED.try_lock() {
        Ok(a) => a.clone(),
        Err(_) => vec!["the worker being added".to_string()],
    }
}

/// Register the devices of every worker in `endpoints` (once per process), after checking each
/// is reachable. A worker that speaks another protocol version is refused by ggml (null).
pub fn add_servers(endpoints: &[String]) -> anyhow::Result<()> {
    let mut added = ADDED.lock().unwrap_or_else(|e| e.into_inner());
    for endpoint in endpoints {
        if added.contains(endpoint) {
            continue;
        }
        reachable(endpoint)?;
        // SAFETY: the symbol has ggml_backend_rpc_add_server's signature (ggml-rpc.h).
        let add: AddServerFn =
            unsafe { std::mem::transmute(proc_address("ggml_backend_rpc_add_server")?) };
        let c = CString::new(endpoint.as_str())
            .map_err(|_| fail(Exit::Usage, format!("invalid --rpc address {endpoint:?}")))?;
        let _log = super::logs::Capture::start();
        // SAFETY: a NUL-terminated endpoint; ggml returns null on failure.
        let reg = unsafe { add(c.as_ptr()) };
        if reg.is_null() {
            return Err(fail(
                Exit::Remote,
                format!(
                    "the RPC worker at {endpoint} refused the connection (another RPC protocol version? this build speaks {})",
                    protocol()
                ),
            ));
        }
        // SAFETY: a registry entry ggml just created; registering makes its devices visible.
        unsafe { llama_cpp_sys_2::ggml_backend_register(reg) };
        added.push(endpoint.clone());
    }
    Ok(())
}

/// The RPC protocol version this build speaks (ggml-rpc.h).
pub fn protocol() -> String {
    format!("{}.{}.{}", PROTO.0, PROTO.1, PROTO.2)
}

/// Serve `device` (a ggml device name such as `CPU` or `CUDA0`; `None`: the first GPU, else
/// the CPU) on `endpoint` until the process ends. Returns only if ggml could not start.
pub fn serve(
    endpoint: &str,
    device: Option<&str>,
    threads: usize,
    cache_dir: Option<&std::path::Path>,
) -> anyhow::Result<String> {
    let start: StartServerFn =
        // SAFETY: the symbol has ggml_backend_rpc_start_server's signature (ggml-rpc.h).
        unsafe { std::mem::transmute(proc_address("ggml_backend_rpc_start_server")?) };
    let dev = pick_device(device)?;
    // SAFETY: a live device; its name is a NUL-terminated string owned by ggml.
    let name = unsafe {
        std::ffi::CStr::from_ptr(llama_cpp_sys_2::ggml_backend_dev_name(dev))
            .to_string_lossy()
            .into_owned()
    };
    let ep = CString::new(endpoint).map_err(|_| fail(Exit::Usage, "invalid --host/--port"))?;
    let cache = cache_dir
        .map(|d| CString::new(d.to_string_lossy().as_bytes()))
        .transpose()
        .map_err(|_| fail(Exit::Usage, "invalid --cache path"))?;
    let mut devices = [dev];
    // "serving" means clients can connect: ggml binds only after it has set up the device,
    // so the line waits until the port accepts (that one connection ends at once, unserved).
    let (ready_name, ready_endpoint) = (name.clone(), endpoint.to_string());
    std::thread::spawn(move || {
        for _ in 0..3000 {
            if TcpStream::connect(&ready_endpoint).is_ok() {
                crate::output::message(&format!("serving {ready_name} on {ready_endpoint}"));
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    });
    // SAFETY: NUL-terminated strings that outlive the call; one live device.
    unsafe {
        start(
            ep.as_ptr(),
            cache.as_ref().map_or(std::ptr::null(), |c| c.as_ptr()),
            threads,
            1,
            devices.as_mut_ptr(),
        );
    }
    Err(fail(
        Exit::Remote,
        format!(
            "the RPC server could not listen on {endpoint} (address in use, or not an address of this machine)"
        ),
    ))
}

fn pick_device(name: Option<&str>) -> anyhow::Result<llama_cpp_sys_2::ggml_backend_dev_t> {
    backend()?;
    // SAFETY: plain queries of ggml's device registry.
    let count = unsafe { llama_cpp_sys_2::ggml_backend_dev_count() };
    let devs: Vec<_> = (0..count)
        .map(|i| unsafe { llama_cpp_sys_2::ggml_backend_dev_get(i) })
        .collect();
    let dev_name = |d: llama_cpp_sys_2::ggml_backend_dev_t| unsafe {
        std::ffi::CStr::from_ptr(llama_cpp_sys_2::ggml_backend_dev_name(d))
            .to_string_lossy()
            .into_owned()
    };
    let kind = |d| unsafe { llama_cpp_sys_2::ggml_backend_dev_type(d) };
    let found = match name {
        Some(n) => devs
            .iter()
            .copied()
            .find(|&d| dev_name(d).eq_ignore_ascii_case(n)),
        None => devs
            .iter()
            .copied()
            .find(|&d| kind(d) == llama_cpp_sys_2::GGML_BACKEND_DEVICE_TYPE_GPU)
            .or_else(|| {
                devs.iter()
                    .copied()
                    .find(|&d| kind(d) == llama_cpp_sys_2::GGML_BACKEND_DEVICE_TYPE_CPU)
            }),
    };
    found.ok_or_else(|| {
        let names: Vec<String> = devs.iter().map(|&d| dev_name(d)).collect();
        fail(
            Exit::Usage,
            format!(
                "no device {} here; devices: {}",
                name.unwrap_or("to serve"),
                names.join(", ")
            ),
        )
    })
}
