//! The ar container of a .deb as dpkg-deb writes it: the `!<arch>\n` magic,
//! then 60-byte member headers (name space-padded without a trailing `/`,
//! mtime = SOURCE_DATE_EPOCH, uid and gid 0, mode 100644, decimal size), each
//! member padded with `\n` to an even length.
use std::io::{self, Write};

pub(crate) const MAGIC: &[u8] = b"!<arch>\n";
pub(crate) const HEADER_LEN: u64 = 60;
/// Offset of the 10-byte size field inside a member header.
pub(crate) const SIZE_OFFSET: u64 = 48;

/// A member header. `size` is `None` for a placeholder to be patched with
/// `size_field` once the member's length is known.
pub(crate) fn member_header(name: &str, mtime: u64, size: Option<u64>) -> io::Result<[u8; 60]> {
    if name.len() > 16 || name.contains('/') {
        return Err(io::Error::other(format!(
            "ar member name {name:?} is not valid"
        )));
    }
    let mut h = [b' '; 60];
    h[..name.len()].copy_from_slice(name.as_bytes());
    put(&mut h[16..28], &mtime.to_string())?;
    put(&mut h[28..34], "0")?;
    put(&mut h[34..40], "0")?;
    put(&mut h[40..48], "100644")?;
    put(&mut h[48..58], &size_field(size.unwrap_or(0))?)?;
    h[58] = b'`';
    h[59] = b'\n';
    Ok(h)
}

/// The 10-byte, space-padded decimal size field.
pub(crate) fn size_field(size: u64) -> io::Result<String> {
    let s = size.to_string();
    if s.len() > 10 {
        return Err(io::Error::other(format!(
            "ar member of {size} bytes is too large"
        )));
    }
    Ok(format!("{s:<10}"))
}

fn put(field: &mut [u8], s: &str) -> io::Result<()> {
    if s.len() > field.len() {
        return Err(io::Error::other(format!("ar header field {s:?} too long")));
    }
    field[..s.len()].copy_from_slice(s.as_bytes());
    Ok(())
}

/// Write a whole member held in memory (only `debian-binary`).
pub(crate) fn write_member<W: Write>(
    w: &mut W,
    name: &str,
    mtime: u64,
    data: &[u8],
) -> io::Result<()> {
    w.write_all(&member_header(name, mtime, Some(data.len() as u64))?)?;
    w.write_all(data)?;
    if data.len() % 2 == 1 {
        w.write_all(b"\n")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debian_binary_member_as_dpkg_deb_writes_it() {
        let mut v = Vec::new();
        v.extend_from_slice(MAGIC);
        write_member(&mut v, "debian-binary", 1_700_000_000, b"2.0\n").unwrap();
        assert_eq!(
            v,
            b"!<arch>\ndebian-binary   1700000000  0     0     100644  4         `\n2.0\n"
        );
    }

    #[test]
    fn odd_member_padded() {
        let mut v = Vec::new();
        write_member(&mut v, "x", 0, b"abc").unwrap();
        assert_eq!(v.len(), 60 + 4);
        assert_eq!(v[63], b'\n');
    }
}
