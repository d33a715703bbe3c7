//! SOURCE_DATE_EPOCH: where the one timestamp every output carries comes
//! from. Spec 1.1: an ASCII decimal integer; anything else is an error, and
//! there is never a silent fallback to the current time. When the
//! environment has none, `from_changelog` reads the newest entry of a
//! `debian/changelog` as dpkg-buildpackage does.
use std::path::Path;

use anyhow::{bail, Context, Result};

/// The month names of RFC 2822 dates (changelog trailers).
pub(crate) const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Parse a SOURCE_DATE_EPOCH value: ASCII decimal digits only.
pub(crate) fn parse(value: &str) -> Result<u64> {
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        bail!("SOURCE_DATE_EPOCH {value:?} is malformed: it must be an ASCII decimal integer (seconds since 1970-01-01 UTC)");
    }
    value
        .parse::<u64>()
        .map_err(|_| anyhow::anyhow!("SOURCE_DATE_EPOCH {value:?} is out of range"))
}

/// The value from the command line if given, else from the environment.
/// Neither: an error saying how to set it.
pub(crate) fn resolve(cli: Option<&str>) -> Result<u64> {
    if let Some(v) = cli {
        return parse(v);
    }
    match std::env::var_os("SOURCE_DATE_EPOCH") {
        Some(v) => match v.to_str() {
            Some(s) => parse(s),
            None => bail!("SOURCE_DATE_EPOCH is not valid UTF-8"),
        },
        None => bail!(
            "SOURCE_DATE_EPOCH is not set: set it in the environment \
             (e.g. SOURCE_DATE_EPOCH=$(git log -1 --format=%ct), or as dpkg-buildpackage \
             does from debian/changelog) or pass --source-date-epoch"
        ),
    }
}

/// SOURCE_DATE_EPOCH from the environment if set, else from the newest
/// entry of `changelog` if that file exists, else an error saying how to
/// set it.
pub(crate) fn resolve_with_changelog(changelog: &Path) -> Result<u64> {
    if std::env::var_os("SOURCE_DATE_EPOCH").is_some() {
        return resolve(None);
    }
    if changelog.is_file() {
        return from_changelog(changelog);
    }
    bail!(
        "SOURCE_DATE_EPOCH is not set and there is no {}: set SOURCE_DATE_EPOCH \
         (e.g. SOURCE_DATE_EPOCH=$(git log -1 --format=%ct)) or add a debian/changelog \
         beside the configuration",
        changelog.display()
    )
}

/// The date of the newest entry of a Debian changelog, in seconds since the
/// epoch (what dpkg-buildpackage exports as SOURCE_DATE_EPOCH).
pub(crate) fn from_changelog(path: &Path) -> Result<u64> {
    use std::io::BufRead;
    let f = std::fs::File::open(path).with_context(|| format!("reading {}", path.display()))?;
    for (n, line) in std::io::BufReader::new(f).lines().enumerate() {
        let line = line.with_context(|| format!("reading {} line {}", path.display(), n + 1))?;
        if let Some(trailer) = line.strip_prefix(" -- ") {
            let date = trailer
                .rsplit_once(">  ")
                .map(|(_, d)| d)
                .with_context(|| {
                    format!(
                        "{} line {}: the trailer must be ' -- Name <email>  date'",
                        path.display(),
                        n + 1
                    )
                })?;
            return parse_rfc2822(date.trim())
                .with_context(|| format!("{} line {}: date {date:?}", path.display(), n + 1));
        }
    }
    bail!(
        "{}: no entry trailer (' -- Name <email>  date') found",
        path.display()
    )
}

/// `[Day, ]DD Mon YYYY HH:MM:SS +ZZZZ` to seconds since the epoch.
pub(crate) fn parse_rfc2822(s: &str) -> Result<u64> {
    let s = match s.split_once(',') {
        Some((day, rest)) if day.len() == 3 => rest.trim_start(),
        _ => s,
    };
    let parts: Vec<&str> = s.split_whitespace().collect();
    let [day, month, year, time, zone] = parts[..] else {
        bail!("expected 'Day, DD Mon YYYY HH:MM:SS +ZZZZ'");
    };
    let num = |v: &str, what: &str| -> Result<i64> {
        if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
            bail!("bad {what} {v:?}");
        }
        Ok(v.parse()?)
    };
    let m = MONTHS
        .iter()
        .position(|x| *x == month)
        .with_context(|| format!("bad month {month:?}"))? as i64
        + 1;
    let (d, y) = (num(day, "day")?, num(year, "year")?);
    let t: Vec<&str> = time.split(':').collect();
    let [hh, mm, ss] = t[..] else {
        bail!("bad time {time:?}");
    };
    let (hh, mm, ss) = (num(hh, "hour")?, num(mm, "minute")?, num(ss, "second")?);
    let days = days_from_civil(y, m, d)?;
    if hh > 23 || mm > 59 || ss > 60 || y < 1970 {
        bail!("date out of range");
    }
    let (sign, z) = match zone.as_bytes().first() {
        Some(b'+') => (1, &zone[1..]),
        Some(b'-') => (-1, &zone[1..]),
        _ => bail!("bad time zone {zone:?}"),
    };
    if z.len() != 4 {
        bail!("bad time zone {zone:?}");
    }
    let (zh, zm) = (num(&z[..2], "zone hours")?, num(&z[2..], "zone minutes")?);
    if zm > 59 {
        bail!("bad time zone {zone:?}");
    }
    let off = sign * (zh * 3600 + zm * 60);
    let secs = days * 86400 + hh * 3600 + mm * 60 + ss - off;
    u64::try_from(secs).map_err(|_| anyhow::anyhow!("date before 1970"))
}

/// Days since 1970-01-01 of a civil date, strictly: the day must exist in
/// its month ("31 Feb 2024" is an error, not 2 March). Howard Hinnant's
/// days-from-civil algorithm; the one date check of every parser of dates
/// (changelog trailers here, `--at` in `verify::signature`).
pub(crate) fn days_from_civil(y: i64, m: i64, d: i64) -> Result<i64> {
    let leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
    let month_days = [
        31,
        28 + i64::from(leap),
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if !(1..=12).contains(&m) {
        bail!("no month {m}");
    }
    if !(1..=month_days[m as usize - 1]).contains(&d) {
        bail!("{} {y} has no day {d}", MONTHS[m as usize - 1]);
    }
    let (yy, mo) = if m <= 2 { (y - 1, m + 9) } else { (y, m - 3) };
    let era = yy.div_euclid(400);
    let yoe = yy - era * 400;
    let doy = (153 * mo + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Ok(era * 146097 + doe - 719468)
}

/// A Unix time as a UTC civil date and time: (year, month, day, hour,
/// minute, second). Howard Hinnant's civil-from-days algorithm; every
/// timestamp venvdeb renders (changelog, SBOM, zip, signature messages)
/// comes through here, so none depends on the local time zone.
pub(crate) fn utc_parts(epoch: u64) -> (i64, u32, u32, u32, u32, u32) {
    let days = (epoch / 86_400) as i64;
    let secs = (epoch % 86_400) as u32;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d, secs / 3600, secs / 60 % 60, secs % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changelog_dates() {
        assert_eq!(parse_rfc2822("Thu, 01 Jan 1970 00:00:00 +0000").unwrap(), 0);
        assert_eq!(
            parse_rfc2822("Tue, 14 Nov 2023 22:13:20 +0000").unwrap(),
            1_700_000_000
        );
        assert_eq!(
            parse_rfc2822("Wed, 15 Nov 2023 00:13:20 +0200").unwrap(),
            1_700_000_000
        );
        assert_eq!(
            parse_rfc2822("29 Feb 2024 12:00:00 -0130").unwrap(),
            1_709_213_400
        );
        assert_eq!(
            parse_rfc2822("29 Feb 2000 00:00:00 +0000").unwrap(),
            951_782_400
        );
        let e = parse_rfc2822("Sat, 31 Feb 2024 00:00:00 +0000").unwrap_err();
        assert_eq!(e.to_string(), "Feb 2024 has no day 31");
        for (m, last) in [("Jan", 31), ("Apr", 30), ("Dec", 31), ("Feb", 29)] {
            assert!(parse_rfc2822(&format!("{last} {m} 2024 00:00:00 +0000")).is_ok());
        }
        for bad in [
            "",
            "Tue, 14 Nov 2023 22:13:20",
            "Tue, 14 Foo 2023 22:13:20 +0000",
            "Tue, 32 Nov 2023 22:13:20 +0000",
            // Strict civil dates: no rolling over into the next month.
            "Sat, 31 Feb 2024 00:00:00 +0000",
            "30 Feb 2024 00:00:00 +0000",
            "29 Feb 2023 00:00:00 +0000",
            "29 Feb 1900 00:00:00 +0000",
            "31 Apr 2024 00:00:00 +0000",
            "31 Jun 2024 00:00:00 +0000",
            "31 Sep 2024 00:00:00 +0000",
            "31 Nov 2024 00:00:00 +0000",
            "00 Jan 2024 00:00:00 +0000",
            "01 Jan 2024 00:00:00 +0060",
        ] {
            assert!(parse_rfc2822(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn newest_changelog_entry() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("changelog");
        std::fs::write(
            &p,
            "demoapp (1.0.0-2) unstable; urgency=medium\n\n  * b\n\n -- A B <a@b.c>  Tue, 14 Nov 2023 22:13:20 +0000\n\n\
             demoapp (1.0.0-1) unstable; urgency=medium\n\n  * a\n\n -- A B <a@b.c>  Mon, 13 Nov 2023 22:13:20 +0000\n",
        )
        .unwrap();
        assert_eq!(from_changelog(&p).unwrap(), 1_700_000_000);
        std::fs::write(&p, "demoapp (1) unstable; urgency=low\n\n  * a\n").unwrap();
        assert!(from_changelog(&p).is_err());
    }

    #[test]
    fn utc_parts_known_dates() {
        assert_eq!(utc_parts(0), (1970, 1, 1, 0, 0, 0));
        assert_eq!(utc_parts(951_782_400), (2000, 2, 29, 0, 0, 0));
        assert_eq!(utc_parts(1_700_000_000), (2023, 11, 14, 22, 13, 20));
        assert_eq!(utc_parts(4_354_819_198), (2107, 12, 31, 23, 59, 58));
        for t in [0u64, 86_399, 951_782_400, 1_700_000_000, 4_102_444_800] {
            let (y, m, d, hh, mm, ss) = utc_parts(t);
            let back = parse_rfc2822(&format!(
                "Mon, {d} {} {y} {hh:02}:{mm:02}:{ss:02} +0000",
                [
                    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov",
                    "Dec"
                ][(m - 1) as usize]
            ));
            assert_eq!(back.ok(), Some(t), "{t}");
        }
    }

    #[test]
    fn accepts_digits_only() {
        assert_eq!(parse("1700000000").unwrap(), 1_700_000_000);
        assert_eq!(parse("0").unwrap(), 0);
        for bad in [
            "",
            " 1",
            "1 ",
            "-1",
            "+1",
            "1.5",
            "0x10",
            "１",
            "99999999999999999999999",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} accepted");
        }
    }
}
