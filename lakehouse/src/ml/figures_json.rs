//! Figures as JSON: serde_json writes a non-finite number (NaN, infinity) as `null`, so a
//! figure stored that way is read back as NaN instead of failing the whole record.

use serde::{Deserialize, Deserializer};

/// A number, or NaN where the JSON has `null`.
pub fn f64_or_nan<'de, D: Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(deserializer)?.unwrap_or(f64::NAN))
}

#[cfg(test)]
mod tests {
    #[derive(serde::Deserialize)]
    struct Figure {
        #[serde(deserialize_with = "super::f64_or_nan")]
        value: f64,
    }

    #[test]
    fn null_is_read_as_nan_and_numbers_as_themselves() {
        let null: Figure = serde_json::from_str(r#"{"value": null}"#).unwrap();
        assert!(null.value.is_nan());
        let number: Figure = serde_json::from_str(r#"{"value": 0.25}"#).unwrap();
        assert_eq!(number.value, 0.25);
        assert!(serde_json::from_str::<Figure>(r#"{"value": "high"}"#).is_err());
    }
}
