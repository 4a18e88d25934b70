//! `llama_model_load_from_file` with every parameter we need. llama-cpp-2's
//! `LlamaModelParams` has no setter for `tensor_split` or `use_extra_bufts` (`--tensor-split`,
//! `--no-repack`), so the parameters are built here from llama.cpp's defaults and the loaded
//! model is handed back as the crate's `LlamaModel`, which frees it on drop.

use std::ffi::{CString, c_void};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::ptr::NonNull;

use llama_cpp_2::model::LlamaModel;

use super::model::{ModelOptions, SplitMode};

/// Why a load failed (llama.cpp's log says more).
#[derive(Debug)]
pub enum LoadError {
    Path,
    Null,
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            LoadError::Path => "the path contains a NUL byte",
            LoadError::Null => "llama.cpp returned no model",
        })
    }
}

type Progress = Box<dyn FnMut(f32) -> bool>;

/// llama.cpp calls this during the load; returning false cancels it.
unsafe extern "C" fn on_progress(progress: f32, user_data: *mut c_void) -> bool {
    // SAFETY: `user_data` is the `Progress` box `load` keeps alive for the whole call.
    let f = unsafe { &mut *user_data.cast::<Progress>() };
    // A panic must not unwind into C++; a failed callback cancels the load.
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(progress))).unwrap_or(false)
}

/// Load `path` with `opts`; `progress` gets 0.0..=1.0 and cancels the load by returning false.
pub fn load(
    path: &Path,
    opts: &ModelOptions,
    progress: impl FnMut(f32) -> bool + 'static,
) -> Result<LlamaModel, LoadError> {
    let c_path = CString::new(path.as_os_str().as_bytes()).map_err(|_| LoadError::Path)?;
    // SAFETY: plain constructors of llama.cpp's parameter structs and limits.
    let mut p = unsafe { llama_cpp_sys_2::llama_model_default_params() };
    let max_devices = unsafe { llama_cpp_sys_2::llama_max_devices() };
    p.n_gpu_layers = i32::try_from(opts.gpu_layers).unwrap_or(i32::MAX);
    p.split_mode = match opts.split.mode {
        SplitMode::None => llama_cpp_sys_2::LLAMA_SPLIT_MODE_NONE,
        SplitMode::Layer => llama_cpp_sys_2::LLAMA_SPLIT_MODE_LAYER,
        SplitMode::Row => llama_cpp_sys_2::LLAMA_SPLIT_MODE_ROW,
    };
    p.main_gpu = i32::try_from(opts.split.main_gpu).unwrap_or(i32::MAX);
    // llama.cpp reads llama_max_devices() entries (the caller checked the length).
    let mut split = vec![0f32; max_devices];
    for (dst, src) in split.iter_mut().zip(&opts.split.tensor_split) {
        *dst = *src;
    }
    if !opts.split.tensor_split.is_empty() {
        p.tensor_split = split.as_ptr();
    }
    p.use_extra_bufts = !opts.no_repack;
    let mut callback: Progress = Box::new(progress);
    p.progress_callback = Some(on_progress);
    p.progress_callback_user_data = (&raw mut callback).cast::<c_void>();
    // SAFETY: a NUL-terminated path; `split` and `callback` outlive the call.
    let raw = unsafe { llama_cpp_sys_2::llama_model_load_from_file(c_path.as_ptr(), p) };
    drop(callback);
    let model = NonNull::new(raw).ok_or(LoadError::Null)?;
    const _: () =
        assert!(size_of::<LlamaModel>() == size_of::<NonNull<llama_cpp_sys_2::llama_model>>());
    // SAFETY: `LlamaModel` is `#[repr(transparent)]` over a non-null `llama_model` pointer
    // (llama-cpp-2 0.1.160, src/model.rs and src/ptr.rs); it takes ownership and frees the
    // model with `llama_model_free` on drop, as if the crate had loaded it.
    Ok(unsafe { std::mem::transmute::<NonNull<llama_cpp_sys_2::llama_model>, LlamaModel>(model) })
}
