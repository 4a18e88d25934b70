//! Byte sizes and counts for people: one formatter each, used by every report.

const KIB: f64 = 1024.0;

/// `373.71 MiB`, `1.04 GiB`, `512 B`: the largest binary unit that keeps the number at 1 or
/// more, two decimals (llama-bench's size column reads the same for models).
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= KIB && u + 1 < UNITS.len() {
        v /= KIB;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.2} {}", UNITS[u])
    }
}

/// Bytes in MiB, for table columns headed "MiB".
pub fn mib(n: u64) -> f64 {
    n as f64 / (KIB * KIB)
}

/// `494.03 M`, `1.10 B`, `12.50 K`: parameter and token counts.
pub fn count(n: u64) -> String {
    match n {
        n if n >= 1_000_000_000 => format!("{:.2} B", n as f64 / 1e9),
        n if n >= 1_000_000 => format!("{:.2} M", n as f64 / 1e6),
        n if n >= 1_000 => format!("{:.2} K", n as f64 / 1e3),
        n => n.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units() {
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(391_866_368), "373.71 MiB");
        assert_eq!(bytes(1 << 30), "1.00 GiB");
        assert_eq!(bytes(u64::MAX), "16777216.00 TiB");
        assert_eq!(mib(3 << 20), 3.0);
        assert_eq!(count(494_032_768), "494.03 M");
        assert_eq!(count(1_100_048_384), "1.10 B");
        assert_eq!(count(999), "999");
    }
}
