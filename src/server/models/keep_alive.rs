//! A request's `keep_alive` (ollama's extension): how long its model stays loaded after it.

use super::super::ApiError;

/// A request's `keep_alive`, as ollama takes it: seconds as a number, or a string with a unit
/// (`"90s"`, `"5m"`, `"1h"`); negative keeps the model loaded, 0 unloads it when idle.
pub fn keep_alive(v: Option<&serde_json::Value>) -> Result<Option<i64>, ApiError> {
    let bad = || {
        ApiError::invalid(
            "keep_alive",
            "keep_alive must be seconds (a number) or a duration such as \"90s\", \"5m\", \"1h\"; negative keeps the model loaded",
        )
    };
    let Some(v) = v else { return Ok(None) };
    let secs = match v {
        serde_json::Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.is_finite()).map(|f| f as i64)),
        serde_json::Value::String(s) => {
            let s = s.trim();
            let (num, unit) = match s.char_indices().rfind(|(_, c)| c.is_ascii_digit()) {
                Some((i, _)) => s.split_at(i + 1),
                None => return Err(bad()),
            };
            let scale = match unit {
                "" | "s" => 1,
                "m" => 60,
                "h" => 3600,
                _ => return Err(bad()),
            };
            num.parse::<i64>().ok().and_then(|n| n.checked_mul(scale))
        }
        _ => None,
    };
    secs.map(Some).ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn keep_alive_forms() {
        let k = |v: serde_json::Value| super::keep_alive(Some(&v)).map_err(|e| e.message);
        assert_eq!(k(json!(30)).unwrap(), Some(30));
        assert_eq!(k(json!(-1)).unwrap(), Some(-1));
        assert_eq!(k(json!("5m")).unwrap(), Some(300));
        assert_eq!(k(json!("90s")).unwrap(), Some(90));
        assert_eq!(k(json!("2h")).unwrap(), Some(7200));
        assert_eq!(k(json!("0")).unwrap(), Some(0));
        assert_eq!(k(json!("-1m")).unwrap(), Some(-60));
        for bad in [
            json!("5 minutes"),
            json!("m"),
            json!(true),
            json!("5d"),
            json!([1]),
        ] {
            assert!(k(bad).is_err());
        }
        assert_eq!(super::keep_alive(None).unwrap(), None);
    }
}
