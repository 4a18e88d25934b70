//! Build script: records the llama-cpp-2 version from Cargo.lock (shown by `inferno info`)
//! and, for builds with run-time backend plugins, makes the binary look for its shared
//! libraries in its own directory (RPATH $ORIGIN) so a bundle can be moved anywhere.

use std::path::Path;

fn main() {
    let lock = Path::new(&std::env::var("CARGO_MANIFEST_DIR").unwrap()).join("Cargo.lock");
    println!("cargo:rerun-if-changed={}", lock.display());
    let text = std::fs::read_to_string(&lock).unwrap_or_default();
    let version = |name: &str| {
        text.split("[[package]]")
            .find(|p| p.contains(&format!("\nname = \"{name}\"\n")))
            .and_then(|p| p.lines().find_map(|l| l.strip_prefix("version = \"")))
            .map(|v| v.trim_end_matches('"').to_string())
            .unwrap_or_else(|| "unknown".to_string())
    };
    println!(
        "cargo:rustc-env=BUILD_LLAMA_CPP_2_VERSION={}",
        version("llama-cpp-2")
    );
    // The tests read llama.cpp's own defaults from the vendored sources of this version.
    println!(
        "cargo:rustc-env=BUILD_LLAMA_CPP_SYS_2_VERSION={}",
        version("llama-cpp-sys-2")
    );

    if std::env::var_os("CARGO_FEATURE_DYNAMIC_BACKENDS").is_some()
        && std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux")
    {
        // All targets: the inferno binary and the synthetic-model example travel together.
        // DT_RPATH (not RUNPATH): it also applies to the libraries our libraries load
        // (libllama.so.0 -> libggml.so.0), which have no search path of their own.
        println!("cargo:rustc-link-arg=-Wl,--disable-new-dtags,-rpath,$ORIGIN");
    }
}
