//! Opening input files safely: the one place that decides how venvdeb opens
//! a file a user or a configuration names (sums, lock, signature, keyring,
//! configuration).
//!
//! - The file is opened with `O_NONBLOCK | O_NOCTTY`, so a FIFO at the path
//!   does not block the open (and a terminal is never made the controlling
//!   one); symlinks are followed (a configured path may be a link).
//! - What was opened must be a regular file (checked on the open descriptor,
//!   not the path, so nothing can be swapped in between): FIFOs, sockets,
//!   character and block devices (`/dev/zero`) and directories are refused.
//! - Every read is capped: a file larger than its cap is refused, whether its
//!   size says so up front or it grows while being read; memory never grows
//!   beyond the cap.
//!
//! Errors are [`InputError`] (exit code 2 by default: callers for whom a bad
//! input is a verification failure wrap it, see `crate::verify`), with the
//! path, what was expected and what was found.
use std::fmt;
use std::fs::File;
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

/// Cap for small text inputs: lock, wheel list, configuration (64 MiB).
pub(crate) const MAX_TEXT: u64 = 64 << 20;
/// Cap for a keyring (64 MiB: Debian's whole keyring is about a third of it).
pub(crate) const MAX_KEYRING: u64 = 64 << 20;
/// Cap for a detached signature file (1 MiB: one signature is under 2 KiB).
pub(crate) const MAX_SIGNATURE: u64 = 1 << 20;

/// A named input that is not a readable regular file within its cap.
#[derive(Debug)]
pub(crate) struct InputError(pub String);

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for InputError {}

fn kind_of(ft: &std::fs::FileType) -> &'static str {
    if ft.is_dir() {
        "a directory"
    } else if ft.is_fifo() {
        "a FIFO"
    } else if ft.is_socket() {
        "a socket"
    } else if ft.is_char_device() {
        "a character device"
    } else if ft.is_block_device() {
        "a block device"
    } else {
        "a special file"
    }
}

/// Open `path` (the `what` in messages, e.g. "keyring") for reading without
/// blocking, and require a regular file of at most `cap` bytes.
pub(crate) fn open_regular(path: &Path, what: &str, cap: u64) -> anyhow::Result<(File, u64)> {
    let p = path.display();
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .map_err(|e| anyhow::Error::new(e).context(format!("opening {what} {p}")))?;
    let m = f
        .metadata()
        .map_err(|e| anyhow::Error::new(e).context(format!("reading {what} {p}")))?;
    let ft = m.file_type();
    if !ft.is_file() {
        return Err(anyhow::Error::new(InputError(format!(
            "{what} {p}: expected a regular file, found {}",
            kind_of(&ft)
        ))));
    }
    if m.len() > cap {
        return Err(too_big(path, what, cap, m.len()));
    }
    Ok((f, m.len()))
}

fn too_big(path: &Path, what: &str, cap: u64, found: u64) -> anyhow::Error {
    anyhow::Error::new(InputError(format!(
        "{what} {}: expected at most {cap} bytes, found {found}{}",
        path.display(),
        if found > cap { "" } else { " or more" }
    )))
}

/// Read a whole regular file of at most `cap` bytes (see [`open_regular`]).
pub(crate) fn read_regular(path: &Path, what: &str, cap: u64) -> anyhow::Result<Vec<u8>> {
    let (f, len) = open_regular(path, what, cap)?;
    let mut buf = Vec::with_capacity(len as usize);
    f.take(cap + 1)
        .read_to_end(&mut buf)
        .map_err(|e| anyhow::Error::new(e).context(format!("reading {what} {}", path.display())))?;
    if buf.len() as u64 > cap {
        // It grew while being read.
        return Err(too_big(path, what, cap, cap + 1));
    }
    Ok(buf)
}

/// [`read_regular`] for text: the bytes must be UTF-8.
pub(crate) fn read_regular_text(path: &Path, what: &str, cap: u64) -> anyhow::Result<String> {
    let b = read_regular(path, what, cap)?;
    String::from_utf8(b).map_err(|e| {
        anyhow::Error::new(InputError(format!(
            "{what} {}: expected UTF-8 text, found an invalid byte at offset {}",
            path.display(),
            e.utf8_error().valid_up_to()
        )))
    })
}

/// Whether `err` (anywhere in its chain) is an [`InputError`].
pub(crate) fn is_input_error(err: &anyhow::Error) -> bool {
    err.chain()
        .any(|c| c.downcast_ref::<InputError>().is_some())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    fn msg(e: anyhow::Error) -> String {
        format!("{e:#}")
    }

    #[test]
    fn reads_a_regular_file_within_its_cap() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("f");
        std::fs::write(&p, b"hello\n").unwrap();
        assert_eq!(read_regular(&p, "list", 6).unwrap(), b"hello\n");
        let e = msg(read_regular(&p, "list", 5).unwrap_err());
        assert!(e.contains("expected at most 5 bytes, found 6"), "{e}");
        // A symlink to a regular file is followed.
        let l = d.path().join("l");
        std::os::unix::fs::symlink(&p, &l).unwrap();
        assert_eq!(read_regular_text(&l, "list", 100).unwrap(), "hello\n");
        std::fs::write(&p, b"ab\xffcd").unwrap();
        let e = msg(read_regular_text(&p, "config", 100).unwrap_err());
        assert!(e.contains("invalid byte at offset 2"), "{e}");
    }

    #[test]
    fn refuses_special_files_without_blocking() {
        let d = tempfile::tempdir().unwrap();
        let fifo = d.path().join("fifo");
        let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let t = Instant::now();
        let e = read_regular(&fifo, "signature", MAX_SIGNATURE).unwrap_err();
        assert!(t.elapsed() < Duration::from_secs(5));
        assert!(is_input_error(&e));
        assert!(msg(e).contains("expected a regular file, found a FIFO"));
        let e = msg(read_regular(Path::new("/dev/zero"), "keyring", MAX_KEYRING).unwrap_err());
        assert!(e.contains("found a character device"), "{e}");
        let e = msg(read_regular(d.path(), "lock", MAX_TEXT).unwrap_err());
        assert!(e.contains("found a directory"), "{e}");
        let e = read_regular(&d.path().join("missing"), "lock", MAX_TEXT).unwrap_err();
        assert!(!is_input_error(&e));
        assert!(msg(e).contains("opening lock"));
    }
}
