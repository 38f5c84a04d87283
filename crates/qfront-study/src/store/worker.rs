//! Workers and their heartbeats. Every process that runs trials is a worker with an id
//! `host@machine:pid:nonce`; while it runs a trial a background thread stamps the trial's
//! heartbeat (on the database's clock) every few seconds on its own connection. A running
//! trial is stale when its heartbeat is older than the study's grace period, or at once when
//! its worker was a process of this very machine that no longer exists (a `kill -9`ed study
//! resumed on the same machine need not wait).
//!
//! "This very machine" is not the host name: two containers, or two hosts, may be named
//! alike, and a pid means something only inside its pid namespace. The `machine` part is a
//! hash of the host name, the kernel's boot id, the pid namespace and `/etc/machine-id`, so
//! only processes that can see each other's pids share it.

use super::location::StorageLocation;
use super::sql::{Db, Value};
use std::sync::mpsc;
use std::time::Duration;

/// This process's worker id: `host:pid:nonce` (the nonce tells apart processes that reuse a
/// pid, as containers do).
pub fn worker_id() -> String {
    static ID: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    ID.get_or_init(|| {
        let nonce = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos() ^ (d.as_secs() as u32))
            .unwrap_or(0);
        format!("{}:{}:{nonce:08x}", machine_name(), std::process::id())
    })
    .clone()
}

/// This machine as worker ids name it: `host@key`, `key` 12 hex digits of FNV-1a-64 over the
/// host name, the boot id (`/proc/sys/kernel/random/boot_id`), the pid namespace
/// (`/proc/self/ns/pid`) and `/etc/machine-id`; whichever of those cannot be read counts as
/// empty.
pub fn machine_name() -> String {
    static NAME: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    NAME.get_or_init(|| {
        let host = host_name();
        let read = |path: &str| std::fs::read_to_string(path).unwrap_or_default();
        let namespace = std::fs::read_link("/proc/self/ns/pid")
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        let identity = [
            host.clone(),
            read("/proc/sys/kernel/random/boot_id"),
            namespace,
            read("/etc/machine-id"),
        ]
        .map(|part| part.trim().to_string())
        .join("\n");
        format!("{host}@{:012x}", fnv1a_64(identity.as_bytes()) >> 16)
    })
    .clone()
}

/// FNV-1a, 64 bits (a stable, dependency-free hash for identifiers; not for security).
fn fnv1a_64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The host name of a worker id (`host` of `host@key:pid:nonce`), for messages.
pub fn worker_host(worker: &str) -> &str {
    worker
        .split(':')
        .next()
        .and_then(|machine| machine.split('@').next())
        .unwrap_or(worker)
}

/// The machine's host name (`localhost` when it cannot be read).
pub fn host_name() -> String {
    #[cfg(unix)]
    {
        let mut buffer = [0u8; 256];
        // SAFETY: the buffer is valid for its length; gethostname NUL-terminates on success.
        let rc = unsafe { libc::gethostname(buffer.as_mut_ptr().cast(), buffer.len()) };
        if rc == 0 {
            let end = buffer.iter().position(|&b| b == 0).unwrap_or(buffer.len());
            if let Ok(name) = std::str::from_utf8(&buffer[..end]) {
                if !name.is_empty() {
                    return name.to_string();
                }
            }
        }
    }
    "localhost".to_string()
}

/// Whether `worker` was a process of this machine (same [`machine_name`]) that has exited.
/// `false` when unsure (another machine, a container named like this one, an id from an
/// older qfront without the machine key, an unparsable id): then only the heartbeat's age can
/// tell.
pub fn is_dead_local_worker(worker: &str) -> bool {
    let mut parts = worker.rsplitn(3, ':');
    let (Some(_nonce), Some(pid), Some(host)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    if host != machine_name() {
        return false;
    }
    let Ok(pid) = pid.parse::<u32>() else {
        return false;
    };
    if pid == std::process::id() {
        // Our pid: the worker is us, or an earlier process that had our pid.
        return worker != worker_id();
    }
    process_exists(pid) == Some(false)
}

#[cfg(unix)]
fn process_exists(pid: u32) -> Option<bool> {
    let pid = libc::pid_t::try_from(pid).ok()?;
    // SAFETY: signal 0 only checks that the process exists and may be signalled.
    let rc = unsafe { libc::kill(pid, 0) };
    if rc == 0 {
        // A killed process nobody has reaped yet (a zombie) still answers signal 0.
        return Some(!is_zombie(pid));
    }
    match std::io::Error::last_os_error().raw_os_error() {
        Some(libc::ESRCH) => Some(false),
        // EPERM: it exists but belongs to someone else.
        _ => Some(true),
    }
}

/// Whether `/proc` shows the process as a zombie (exited, not yet reaped); Linux only.
#[cfg(unix)]
fn is_zombie(pid: libc::pid_t) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            let after_name = &stat[stat.rfind(')')? + 1..];
            after_name
                .split_whitespace()
                .next()
                .map(|s| s == "Z" || s == "X")
        })
        .unwrap_or(false)
}

#[cfg(not(unix))]
fn process_exists(_pid: u32) -> Option<bool> {
    None
}

/// Stamps one trial's heartbeat every `interval` on a thread of its own until dropped.
pub struct Heartbeat {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Heartbeat {
    /// Starts beating for trial `number` of study `study_id`, owned by `worker`.
    pub fn start(
        location: StorageLocation,
        study_id: i64,
        number: usize,
        worker: String,
        interval: Duration,
    ) -> Self {
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name(format!("heartbeat-{number}"))
            .spawn(move || {
                let mut db = None;
                loop {
                    match stopped.recv_timeout(interval) {
                        Err(mpsc::RecvTimeoutError::Timeout) => {}
                        _ => return,
                    }
                    if db.is_none() {
                        match Db::open(&location) {
                            Ok(d) => db = Some(d),
                            Err(e) => {
                                tracing::warn!("heartbeat of trial {number}: {e}");
                                continue;
                            }
                        }
                    }
                    let beat = db.as_mut().map(|d| beat(d, study_id, number, &worker));
                    if let Some(Err(e)) = beat {
                        tracing::warn!("heartbeat of trial {number}: {e}");
                        db = None;
                    }
                }
            })
            .ok();
        Self {
            stop: Some(stop),
            thread,
        }
    }
}

fn beat(db: &mut Db, study_id: i64, number: usize, worker: &str) -> Result<(), String> {
    let mut tx = db.transaction()?;
    let clock = tx.clock_sql();
    tx.execute(
        &format!("UPDATE qfront_trials SET heartbeat = {clock} WHERE study = ?1 AND number = ?2 AND worker = ?3 AND state = 'running'"),
        &[
            Value::Int(study_id),
            Value::Int(number as i64),
            Value::Text(worker.to_string()),
        ],
    )?;
    tx.commit()
}

impl Drop for Heartbeat {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            thread.join().ok();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(unix)]
    fn local_workers_are_dead_only_when_their_process_is_gone() {
        let me = worker_id();
        assert!(!is_dead_local_worker(&me));
        let host = machine_name();
        assert!(host.starts_with(&format!("{}@", host_name())));
        assert!(me.starts_with(&format!("{host}:")));
        assert_eq!(worker_host(&me), host_name());
        // A container or host with the same name but another machine key (another boot, pid
        // namespace or machine id): its processes are not ours to judge, even when their pid
        // is free here, and neither are ids from before the key existed.
        let free_pid = {
            let mut child = std::process::Command::new("true").spawn().unwrap();
            let pid = child.id();
            child.wait().unwrap();
            pid
        };
        let twin = format!("{}@000000000000:{free_pid}:0", host_name());
        assert!(!is_dead_local_worker(&twin));
        assert!(!is_dead_local_worker(&format!(
            "{}:{free_pid}:0",
            host_name()
        )));
        // An earlier process that had our pid.
        assert!(is_dead_local_worker(&format!(
            "{host}:{}:deadbeef",
            std::process::id()
        )));
        // A child that has exited but is not reaped yet (a zombie), then reaped.
        let mut zombie = std::process::Command::new("true").spawn().unwrap();
        let zombie_pid = zombie.id();
        std::thread::sleep(std::time::Duration::from_millis(200));
        assert!(is_dead_local_worker(&format!("{host}:{zombie_pid}:0")));
        zombie.wait().unwrap();
        // A child that has exited and been reaped.
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        assert!(is_dead_local_worker(&format!("{host}:{pid}:0")));
        // Our parent is alive; another host's workers are judged by heartbeat only.
        let parent = std::os::unix::process::parent_id();
        assert!(!is_dead_local_worker(&format!("{host}:{parent}:0")));
        assert!(!is_dead_local_worker("some-other-host:1:0"));
        assert!(!is_dead_local_worker("external"));
    }
}
