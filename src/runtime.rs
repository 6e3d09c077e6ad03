//! Process-wide concerns that every long-running command shares: the signals that end a
//! process, the temporary files and folders that must not outlive it, and the CPU threads
//! and device a command runs on (`with_threads`, `select_device`: chosen per run). One
//! exception goes through the environment: candle's own element-wise pool, which it sizes
//! once per process from `CANDLE_NUM_THREADS` (see `size_candle_pool`).
//!
//! SIGINT, SIGTERM, SIGHUP and SIGQUIT are all caught, on a thread of their own (so the work
//! done there is not limited to what is safe inside a signal handler). The first sets a flag
//! that the streaming loop checks between batches and the training loop between steps: they
//! stop cleanly, remove their temporary output (and training saves a resumable state). A
//! second signal does not wait: it removes every temporary file and folder still registered
//! and exits with code 130. SIGKILL cannot be caught; what it leaves behind is swept by the
//! next `train` of the same run folder.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

fn registry() -> &'static Mutex<Vec<PathBuf>> {
    static TEMPS: OnceLock<Mutex<Vec<PathBuf>>> = OnceLock::new();
    TEMPS.get_or_init(|| Mutex::new(Vec::new()))
}

/// A temporary file or folder registered for removal on a forced exit; unregistered when
/// dropped (by then it has been renamed into place or removed by its owner).
#[derive(Debug)]
pub struct TempGuard(PathBuf);

impl TempGuard {
    pub fn new(path: &Path) -> TempGuard {
        if let Ok(mut v) = registry().lock() {
            v.push(path.to_path_buf());
        }
        TempGuard(path.to_path_buf())
    }
}

impl Drop for TempGuard {
    fn drop(&mut self) {
        if let Ok(mut v) = registry().lock() {
            if let Some(i) = v.iter().rposition(|p| *p == self.0) {
                v.remove(i);
            }
        }
    }
}

/// Remove every registered temporary file and folder.
pub fn remove_temps() {
    let paths = match registry().lock() {
        Ok(v) => v.clone(),
        Err(_) => return,
    };
    for p in paths {
        if p.is_dir() {
            let _ = std::fs::remove_dir_all(&p);
        } else {
            let _ = std::fs::remove_file(&p);
        }
    }
}

/// Catch SIGINT, SIGTERM, SIGHUP and SIGQUIT. The returned flag is set by the first; `notice`
/// is printed then. A second signal removes the temporary files and exits with 130. Installing
/// twice returns the same flag.
pub fn catch_signals(notice: &'static str) -> Arc<AtomicBool> {
    static FLAG: OnceLock<Arc<AtomicBool>> = OnceLock::new();
    FLAG.get_or_init(|| {
        let flag = Arc::new(AtomicBool::new(false));
        #[cfg(unix)]
        {
            use signal_hook::consts::{SIGHUP, SIGINT, SIGQUIT, SIGTERM};
            if let Ok(mut signals) =
                signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP, SIGQUIT])
            {
                let f = flag.clone();
                std::thread::spawn(move || {
                    for _ in signals.forever() {
                        if f.swap(true, Ordering::SeqCst) {
                            remove_temps();
                            std::process::exit(130);
                        }
                        eprintln!("\n{notice}");
                    }
                });
            }
        }
        flag
    })
    .clone()
}

/// For commands with no point at which to stop cleanly (evaluate, import, compare): any of the
/// four signals removes the registered temporary files at once and exits with 130.
pub fn exit_on_signal() {
    #[cfg(unix)]
    {
        use signal_hook::consts::{SIGHUP, SIGINT, SIGQUIT, SIGTERM};
        if let Ok(mut signals) =
            signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP, SIGQUIT])
        {
            std::thread::spawn(move || {
                if signals.forever().next().is_some() {
                    remove_temps();
                    std::process::exit(130);
                }
            });
        }
    }
}

/// Cores this machine has (1 if it cannot tell).
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Run `work` on `threads` CPU threads (0 = all cores), passing it the count. candle's
/// matrix products run on rayon's current pool, so a pool of that size, installed for this
/// call, bounds them; its element-wise kernels are bounded by `size_candle_pool`.
pub fn with_threads<R: Send>(
    threads: usize,
    work: impl FnOnce(usize) -> R + Send,
) -> crate::Result<R> {
    let n = if threads == 0 { cores() } else { threads };
    size_candle_pool(n);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .build()
        .map_err(|e| crate::Error::Input(format!("cannot start {n} threads: {e}")))?;
    Ok(pool.install(|| work(n)))
}

/// candle 0.11 runs element-wise kernels on a process-wide pool of its own, whatever rayon
/// pool is installed, sized when first used from `CANDLE_NUM_THREADS` (else every core), with
/// workers that spin between kernels. Left alone, `--threads 1` still kept a second core
/// busy, and two one-thread processes on 2 cores ran at 1.69× the rows/s of one instead of
/// 1.95×. The first run of a process sets the variable to its own thread count before any
/// kernel runs; a value the user set is kept. Later runs of the same process (a Python
/// session changing `threads`) share the pool the first one sized.
fn size_candle_pool(n: usize) {
    static SIZED: std::sync::Once = std::sync::Once::new();
    SIZED.call_once(|| {
        if std::env::var_os("CANDLE_NUM_THREADS").is_none() {
            std::env::set_var("CANDLE_NUM_THREADS", n.to_string());
        }
    });
}

/// The device `train.device` names (`auto`: CUDA when this build and machine have it).
pub fn select_device(device: crate::config::Device) -> crate::Result<candle_core::Device> {
    use crate::config::Device as D;
    match device {
        D::Cpu => Ok(candle_core::Device::Cpu),
        D::Cuda => candle_core::Device::new_cuda(0).map_err(|e| {
            crate::Error::Input(format!(
                "train.device = \"cuda\": {e} (build with `cargo build --release --features cuda`)"
            ))
        }),
        D::Auto => Ok(candle_core::Device::cuda_if_available(0)?),
    }
}

/// Refuse a thread count above the machine's cores (0 = all cores); `key` names the option.
pub fn check_threads(key: &str, threads: usize) -> crate::Result<()> {
    let cores = cores();
    if threads > cores {
        return Err(crate::Error::Input(format!(
            "{key} = {threads}: this machine has {cores} cores; use at most {cores} (0 = all)"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn work_runs_on_a_pool_of_the_requested_size() {
        let seen = with_threads(1, |n| (n, rayon::current_num_threads())).unwrap();
        assert_eq!(seen, (1, 1));
        let all = with_threads(0, |n| n).unwrap();
        assert_eq!(all, cores());
    }

    #[test]
    fn registered_temps_are_removed_and_dropped_guards_forgotten() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.tmp");
        let b = dir.path().join("b.tmp");
        std::fs::write(&a, "x").unwrap();
        std::fs::create_dir(&b).unwrap();
        std::fs::write(b.join("w"), "x").unwrap();
        let ga = TempGuard::new(&a);
        let gb = TempGuard::new(&b);
        drop(gb);
        remove_temps();
        assert!(!a.exists(), "a registered file is removed");
        assert!(b.exists(), "an unregistered folder is left alone");
        drop(ga);
    }
}
