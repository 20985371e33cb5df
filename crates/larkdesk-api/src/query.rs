//! Query strings the way Feishu SDKs send them: arrays as repeated keys (`status_list=1&status_list=50`),
//! booleans as `true`/`false` (the Python SDK sends `True`/`False`). Bad values are 154000.

use crate::error::{ApiError, ApiResult};

#[derive(Debug, Default)]
pub struct QueryParams(Vec<(String, String)>);

fn bad(key: &str, why: &str) -> ApiError {
    ApiError::bad_request().with_message(format!("query parameter {key}: {why}"))
}

impl QueryParams {
    pub fn parse(raw: Option<&str>) -> Self {
        Self(
            form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
                .into_owned()
                .collect(),
        )
    }

    /// The last value of a key (empty values count as absent).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, v)| k == key && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }

    pub fn all(&self, key: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, v)| k == key && !v.is_empty())
            .map(|(_, v)| v.as_str())
            .collect()
    }

    pub fn int(&self, key: &str) -> ApiResult<Option<i64>> {
        self.get(key)
            .map(|v| v.trim().parse().map_err(|_| bad(key, "not an integer")))
            .transpose()
    }

    pub fn ints(&self, key: &str) -> ApiResult<Vec<i64>> {
        self.all(key)
            .iter()
            .map(|v| v.trim().parse().map_err(|_| bad(key, "not an integer")))
            .collect()
    }

    pub fn bool(&self, key: &str) -> ApiResult<Option<bool>> {
        self.get(key)
            .map(|v| match v.to_ascii_lowercase().as_str() {
                "true" | "1" => Ok(true),
                "false" | "0" => Ok(false),
                _ => Err(bad(key, "not a boolean")),
            })
            .transpose()
    }

    /// `page` (1-based, default 1) and `page_size` (default 20, at most `max`) as (offset, limit).
    pub fn page(&self, max: i64) -> ApiResult<(i64, i64)> {
        let page = self.int("page")?.unwrap_or(1);
        let size = self.int("page_size")?.unwrap_or(20);
        if page < 1 {
            return Err(bad("page", "must be at least 1"));
        }
        if !(1..=max).contains(&size) {
            return Err(bad("page_size", &format!("must be between 1 and {max}")));
        }
        let offset = (page - 1)
            .checked_mul(size)
            .ok_or_else(|| bad("page", "too large"))?;
        Ok((offset, size))
    }

    /// An inclusive range given as a `{name}_start`/`{name}_end` pair; both or neither.
    pub fn range(&self, start: &str, end: &str) -> ApiResult<Option<(i64, i64)>> {
        match (self.int(start)?, self.int(end)?) {
            (None, None) => Ok(None),
            (Some(a), Some(b)) if a <= b => Ok(Some((a, b))),
            (Some(_), Some(_)) => Err(bad(start, "must not be after the end")),
            _ => Err(bad(start, &format!("{start} and {end} must be given together"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_keys_and_booleans() {
        let q = QueryParams::parse(Some("status_list=1&status_list=50&visible_only=True&x="));
        assert_eq!(q.ints("status_list").unwrap(), vec![1, 50]);
        assert_eq!(q.bool("visible_only").unwrap(), Some(true));
        assert_eq!(q.get("x"), None);
        assert!(QueryParams::parse(Some("page=abc")).page(200).is_err());
        assert_eq!(
            QueryParams::parse(Some("page=3&page_size=50")).page(200).unwrap(),
            (100, 50)
        );
        assert!(QueryParams::parse(Some("page_size=201")).page(200).is_err());
        assert!(
            QueryParams::parse(Some("a_start=1"))
                .range("a_start", "a_end")
                .is_err()
        );
        assert_eq!(
            QueryParams::parse(Some("a_start=1&a_end=2"))
                .range("a_start", "a_end")
                .unwrap(),
            Some((1, 2))
        );
    }
}
